//! `shroud edit` with a real terminal editor, as a person uses it: vi runs
//! in a tmux pane, the test types a change and `:wq`, and real sops then
//! reads the changed value from the file.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{identity_file, recipient, require_tool, shroud};

/// A tmux server of our own (its socket in the test's folder), killed when
/// the test ends however it ends.
struct Tmux {
    bin: PathBuf,
    socket: PathBuf,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("-S").arg(&self.socket).env("TERM", "xterm");
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let o = self.cmd().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "edit"])
    }

    /// Wait until the pane shows `text`; a generous limit keeps a broken
    /// build from hanging the suite.
    fn wait_for_screen(&self, text: &str) {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the pane never showed {text:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn shell_quote(p: &Path) -> String {
    shlex::try_quote(p.to_str().unwrap()).unwrap().into_owned()
}

#[test]
fn vi_in_a_terminal_changes_a_value_that_sops_then_reads() {
    let (Some(tmux), Some(_vi), Some(sops)) = (
        require_tool("tmux"),
        require_tool("vi"),
        require_tool("sops"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    fs::create_dir(&runtime).unwrap();
    let plain = dir.path().join("plain.yaml");
    fs::write(&plain, "db:\n  password: old-secret\n  user: app\n").unwrap();
    let file = dir.path().join("s.yaml");
    let o = shroud(dir.path())
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&file)
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rc = dir.path().join("rc");

    let t = Tmux {
        bin: tmux,
        socket: dir.path().join("tmux.sock"),
    };
    // vi without any user or system vimrc (-u NONE) or viminfo, so the
    // keys below mean the same everywhere.
    let command = format!(
        "env -i PATH={path} HOME={home} TERM=xterm SOPS_AGE_KEY_FILE={key} \
         XDG_RUNTIME_DIR={runtime} EDITOR='vi -u NONE -i NONE' {shroud} edit {file}; \
         echo $? > {rc}.t && mv {rc}.t {rc}",
        path = shell_quote(Path::new(&std::env::var("PATH").unwrap_or_default())),
        home = shell_quote(dir.path()),
        key = shell_quote(&identity_file("alice")),
        runtime = shell_quote(&runtime),
        shroud = shell_quote(Path::new(env!("CARGO_BIN_EXE_shroud"))),
        file = shell_quote(&file),
        rc = shell_quote(&rc),
    );
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "edit",
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    // The decrypted text is on screen in vi.
    t.wait_for_screen("password: old-secret");
    // Change the value with an ex command, then save and quit.
    t.run(&[
        "send-keys",
        "-t",
        "edit",
        ":%s/old-secret/typed-in-vi/",
        "Enter",
    ]);
    t.wait_for_screen("password: typed-in-vi");
    t.run(&["send-keys", "-t", "edit", ":wq", "Enter"]);

    let start = Instant::now();
    let code = loop {
        if let Ok(s) = fs::read_to_string(&rc) {
            break s.trim().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "shroud edit never finished; the pane shows:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, "0", "the pane shows:\n{}", t.screen());
    assert_eq!(
        fs::read_dir(&runtime).unwrap().count(),
        0,
        "the plaintext folder was left behind"
    );

    // Real sops reads the new value, and the other one is unchanged.
    let extract = |path: &str| {
        let o = common::isolated(&sops, dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .args(["decrypt", "--extract", path])
            .arg(&file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(extract(r#"["db"]["password"]"#), "typed-in-vi");
    assert_eq!(extract(r#"["db"]["user"]"#), "app");
}
