//! Passphrase-protected age identity files (`age -p -a -o keys.txt.age
//! keys.txt`) as SOPS_AGE_KEY_FILE: shroud asks for the passphrase on the
//! terminal and decrypts, and the real sops opens the same identity file
//! the same way (the format is the one sops reads). Without a terminal the
//! error names the file and the exit code is sops's 128.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{encrypted_for_alice, identity_file, require_tool, shroud};

const PASSPHRASE: &str = "tr0ub4dor & 3";
const PLAIN: &str = "password: hunter2\nuser: app\n";

/// alice's identity file encrypted to `PASSPHRASE`, armored, as `age -p -a`
/// writes it (work factor 2^14 instead of age's 2^18, to keep it quick).
fn protected_alice(dir: &Path) -> PathBuf {
    let text = fs::read(identity_file("alice")).unwrap();
    let mut r = age::scrypt::Recipient::new(PASSPHRASE.to_string().into());
    r.set_work_factor(14);
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let armored =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).unwrap();
    let mut w = enc.wrap_output(armored).unwrap();
    w.write_all(&text).unwrap();
    w.finish().unwrap().finish().unwrap();
    let path = dir.join("keys.txt.age");
    fs::write(&path, out).unwrap();
    path
}

fn shell_quote(p: &Path) -> String {
    shlex::try_quote(p.to_str().unwrap()).unwrap().into_owned()
}

/// Wait for the `echo $?` file a pane command writes when it ends.
fn exit_code(rc: &Path, tmux: &Tmux) -> String {
    let start = Instant::now();
    loop {
        if let Ok(s) = fs::read_to_string(rc) {
            return s.trim().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the command never finished; the pane shows:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run `program decrypt FILE` in a tmux pane (kept open afterwards, so the
/// screen can be read; the server is killed when the test ends) with SOPS_AGE_KEY_FILE set to
/// the protected file, type `typed` at the passphrase prompt, and return
/// the exit code, stdout and stderr. GPG_AGENT_INFO points at no socket so
/// sops cannot ask a developer's gpg-agent instead of the terminal.
fn decrypt_in_terminal(
    program: &Path,
    key_file: &Path,
    file: &Path,
    prompt: &str,
    typed: &str,
) -> (String, String, String) {
    let tmux_bin = require_tool("tmux").unwrap();
    let dir = file.parent().unwrap();
    let run = tempfile::tempdir_in(dir).unwrap();
    let (rc, out, err) = (
        run.path().join("rc"),
        run.path().join("out"),
        run.path().join("err"),
    );
    let tmux = Tmux {
        bin: tmux_bin,
        socket: run.path().join("tmux.sock"),
        session: "pass",
    };
    let command = format!(
        "env -i PATH={path} HOME={home} TERM=xterm GPG_AGENT_INFO={home}/no-agent \
         SOPS_DISABLE_VERSION_CHECK=1 SOPS_AGE_KEY_FILE={key} {program} decrypt {file} \
         >{out} 2>{err}; echo $? > {rc}.t && mv {rc}.t {rc}; sleep 600",
        path = shell_quote(Path::new(&std::env::var("PATH").unwrap_or_default())),
        home = shell_quote(run.path()),
        key = shell_quote(key_file),
        program = shell_quote(program),
        file = shell_quote(file),
        out = shell_quote(&out),
        err = shell_quote(&err),
        rc = shell_quote(&rc),
    );
    tmux.start(&command);
    tmux.wait_for_screen(prompt);
    tmux.type_line(typed);
    let code = exit_code(&rc, &tmux);
    let screen = tmux.screen();
    assert!(
        !screen.contains(typed),
        "the passphrase was echoed:\n{screen}"
    );
    (
        code,
        fs::read_to_string(&out).unwrap(),
        fs::read_to_string(&err).unwrap(),
    )
}

/// alice's identity file encrypted by the real `age -p -a` (default work
/// factor), typing the passphrase twice in a tmux pane.
fn age_cli_protected_alice(age: &Path, dir: &Path) -> PathBuf {
    let run = tempfile::tempdir_in(dir).unwrap();
    let rc = run.path().join("rc");
    let key = dir.join("keys-by-age-cli.txt.age");
    let tmux = Tmux {
        bin: require_tool("tmux").unwrap(),
        socket: run.path().join("tmux.sock"),
        session: "age",
    };
    tmux.start(&format!(
        "{age} -p -a -o {key} {plain}; echo $? > {rc}.t && mv {rc}.t {rc}; sleep 600",
        age = shell_quote(age),
        key = shell_quote(&key),
        plain = shell_quote(&identity_file("alice")),
        rc = shell_quote(&rc),
    ));
    tmux.wait_for_screen("Enter passphrase");
    tmux.type_line(PASSPHRASE);
    tmux.wait_for_screen("Confirm passphrase");
    tmux.type_line(PASSPHRASE);
    assert_eq!(exit_code(&rc, &tmux), "0", "{}", tmux.screen());
    assert!(
        fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
    );
    key
}

#[test]
fn shroud_and_sops_ask_on_the_terminal_and_open_the_same_identity_file() {
    let (Some(_), Some(sops), Some(age)) = (
        require_tool("tmux"),
        require_tool("sops"),
        require_tool("age"),
    ) else {
        return;
    };
    let (dir, file) = encrypted_for_alice(PLAIN, "s.yaml");
    let key = age_cli_protected_alice(&age, dir.path());
    let shroud_bin = Path::new(env!("CARGO_BIN_EXE_shroud"));
    let prompt = format!("Enter passphrase for identity file {}:", key.display());

    let (code, out, err) = decrypt_in_terminal(shroud_bin, &key, &file, &prompt, PASSPHRASE);
    assert_eq!(code, "0", "stderr: {err}");
    assert_eq!(out, PLAIN);

    // The real sops reads the same protected identity file.
    let (code, out, err) = decrypt_in_terminal(
        &sops,
        &key,
        &file,
        "Enter passphrase for identity",
        PASSPHRASE,
    );
    assert_eq!(code, "0", "sops stderr: {err}");
    assert_eq!(out, PLAIN);
}

#[test]
fn a_wrong_passphrase_typed_in_the_terminal_names_the_file_and_exits_128() {
    let Some(_) = require_tool("tmux") else {
        return;
    };
    let (dir, file) = encrypted_for_alice(PLAIN, "s.yaml");
    let key = protected_alice(dir.path());
    let shroud_bin = Path::new(env!("CARGO_BIN_EXE_shroud"));
    let prompt = format!("Enter passphrase for identity file {}:", key.display());
    let (code, out, err) = decrypt_in_terminal(shroud_bin, &key, &file, &prompt, "not-it");
    assert_eq!(code, "128", "stderr: {err}");
    assert_eq!(out, "");
    assert!(
        err.contains(&format!(
            "{}: passphrase-protected identity file not opened: wrong passphrase",
            key.display()
        )),
        "{err}"
    );
    assert!(!err.contains("not-it") && !err.contains("AGE-SECRET-KEY"));
}

#[test]
fn without_a_terminal_the_error_names_the_file_and_nothing_is_written() {
    let (dir, file) = encrypted_for_alice(PLAIN, "s.yaml");
    let key = protected_alice(dir.path());
    let before = fs::read(&file).unwrap();
    let output = dir.path().join("plain-out.yaml");
    for args in [
        vec!["decrypt".to_string(), file.display().to_string()],
        vec![
            "decrypt".to_string(),
            "--output".to_string(),
            output.display().to_string(),
            file.display().to_string(),
        ],
        vec![
            "decrypt".to_string(),
            "--in-place".to_string(),
            file.display().to_string(),
        ],
    ] {
        let mut cmd = shroud(dir.path());
        cmd.env("SOPS_AGE_KEY_FILE", &key)
            .args(&args)
            .stdin(Stdio::null());
        // A new session has no controlling terminal, so /dev/tty cannot be
        // opened even when the test itself runs in one.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let o = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(128), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?} printed {:?}", o.stdout);
        assert!(
            err.contains(&format!(
                "{}: passphrase-protected identity file not opened: no terminal to ask",
                key.display()
            )),
            "{args:?}: {err}"
        );
        assert!(!output.exists(), "{args:?} wrote {}", output.display());
        assert_eq!(
            fs::read(&file).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
}

/// Ctrl-C at the prompt ends the command as an interrupt would, and leaves
/// the terminal as it found it: echo on, so the shell can be typed in.
#[test]
fn ctrl_c_at_the_prompt_interrupts_and_puts_the_terminal_back() {
    let Some(tmux_bin) = require_tool("tmux") else {
        return;
    };
    let (dir, file) = encrypted_for_alice(PLAIN, "s.yaml");
    let key = protected_alice(dir.path());
    let run = tempfile::tempdir_in(dir.path()).unwrap();
    let (rc, stty) = (run.path().join("rc"), run.path().join("stty"));
    let tmux = Tmux {
        bin: tmux_bin,
        socket: run.path().join("tmux.sock"),
        session: "intr",
    };
    let command = format!(
        "env -i PATH={path} HOME={home} TERM=xterm SOPS_AGE_KEY_FILE={key} {program} decrypt {file} \
         >/dev/null 2>&1; code=$?; stty -a > {stty}; echo $code > {rc}.t && mv {rc}.t {rc}; sleep 600",
        path = shell_quote(Path::new(&std::env::var("PATH").unwrap_or_default())),
        home = shell_quote(run.path()),
        key = shell_quote(&key),
        program = shell_quote(Path::new(env!("CARGO_BIN_EXE_shroud"))),
        file = shell_quote(&file),
        stty = shell_quote(&stty),
        rc = shell_quote(&rc),
    );
    tmux.start(&command);
    tmux.wait_for_screen("Enter passphrase for identity file");
    tmux.run(&["send-keys", "-t", "intr", "-l", "half-typed"]);
    tmux.run(&["send-keys", "-t", "intr", "C-c"]);
    // 128 + SIGINT (2), as the shell reports a death by SIGINT.
    assert_eq!(exit_code(&rc, &tmux), "130", "{}", tmux.screen());
    let settings = fs::read_to_string(&stty).unwrap();
    let words: Vec<&str> = settings.split_whitespace().collect();
    assert!(
        words.contains(&"echo") && words.contains(&"icanon") && words.contains(&"isig"),
        "the terminal was left changed: {settings}"
    );
    assert!(
        !tmux.screen().contains("half-typed"),
        "the passphrase was echoed"
    );
}
