//! `shroud edit` with a real terminal editor, as a person uses it: vi runs
//! in a tmux pane, the test types a change and `:wq`, and real sops then
//! reads the changed value from the file.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{identity_file, recipient, require_tool, shroud};

fn shell_quote(p: &Path) -> String {
    shlex::try_quote(p.to_str().unwrap()).unwrap().into_owned()
}

/// A file encrypted for alice, a private runtime folder, and `shroud edit`
/// of the file running with vi in a tmux pane.
struct Session {
    dir: tempfile::TempDir,
    runtime: PathBuf,
    file: PathBuf,
    rc: PathBuf,
    tmux: Tmux,
    sops: PathBuf,
}

impl Session {
    fn start(body: &str) -> Option<Session> {
        let (Some(tmux), Some(_vi), Some(sops)) = (
            require_tool("tmux"),
            require_tool("vi"),
            require_tool("sops"),
        ) else {
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        fs::create_dir(&runtime).unwrap();
        let plain = dir.path().join("plain.yaml");
        fs::write(&plain, body).unwrap();
        let file = dir.path().join("s.yaml");
        let o = shroud(dir.path())
            .args(["encrypt", "--age", &recipient("alice"), "--output"])
            .arg(&file)
            .arg(&plain)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let rc = dir.path().join("rc");
        let tmux = Tmux {
            bin: tmux,
            socket: dir.path().join("tmux.sock"),
            session: "edit",
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
        tmux.start(&command);
        Some(Session {
            dir,
            runtime,
            file,
            rc,
            tmux,
            sops,
        })
    }

    fn keys(&self, keys: &str) {
        self.tmux.run(&["send-keys", "-t", "edit", keys, "Enter"]);
    }

    /// shroud's exit code, once it has finished.
    fn exit_code(&self) -> String {
        let start = Instant::now();
        loop {
            if let Ok(s) = fs::read_to_string(&self.rc) {
                return s.trim().to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "shroud edit never finished; the pane shows:\n{}",
                self.tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `sops decrypt --extract` of the file: real sops reads what shroud wrote.
    fn extract(&self, path: &str) -> String {
        let o = common::isolated(&self.sops, self.dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .args(["decrypt", "--extract", path])
            .arg(&self.file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    fn nothing_left(&self) {
        assert_eq!(
            fs::read_dir(&self.runtime).unwrap().count(),
            0,
            "the plaintext folder was left behind"
        );
    }
}

#[test]
fn vi_in_a_terminal_changes_a_value_that_sops_then_reads() {
    let Some(s) = Session::start("db:\n  password: old-secret\n  user: app\n") else {
        return;
    };
    // The decrypted text is on screen in vi.
    s.tmux.wait_for_screen("password: old-secret");
    // Change the value with an ex command, then save and quit.
    s.keys(":%s/old-secret/typed-in-vi/");
    s.tmux.wait_for_screen("password: typed-in-vi");
    s.keys(":wq");
    assert_eq!(s.exit_code(), "0", "the pane shows:\n{}", s.tmux.screen());
    s.nothing_left();
    assert_eq!(s.extract(r#"["db"]["password"]"#), "typed-in-vi");
    assert_eq!(s.extract(r#"["db"]["user"]"#), "app");
}

#[test]
fn invalid_text_on_a_terminal_reopens_the_editor_with_the_text_kept() {
    let Some(s) = Session::start("db:\n  password: old-secret\n") else {
        return;
    };
    s.tmux.wait_for_screen("password: old-secret");
    // An unclosed flow sequence is not YAML.
    s.keys(":%s/old-secret/[unclosed/");
    s.tmux.wait_for_screen("password: [unclosed");
    s.keys(":wq");
    // shroud says why and offers to go back.
    s.tmux
        .wait_for_screen("Press Enter to go back to the editor");
    let screen = s.tmux.screen();
    assert!(screen.contains("line"), "a location is given:\n{screen}");
    s.tmux.run(&["send-keys", "-t", "edit", "Enter"]);
    // vi again, with what was typed.
    s.tmux.wait_for_screen("password: [unclosed");
    s.keys(":%s/\\[unclosed/fixed-value/");
    s.tmux.wait_for_screen("password: fixed-value");
    s.keys(":wq");
    assert_eq!(s.exit_code(), "0", "the pane shows:\n{}", s.tmux.screen());
    s.nothing_left();
    assert_eq!(s.extract(r#"["db"]["password"]"#), "fixed-value");
}
