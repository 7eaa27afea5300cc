//! A tmux server of the test's own (its socket in the test's folder), for
//! tests that need a real terminal: an editor, or a passphrase prompt.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Killed when the test ends however it ends.
pub struct Tmux {
    pub bin: PathBuf,
    pub socket: PathBuf,
    /// The session (and pane) name the commands below target.
    pub session: &'static str,
}

impl Tmux {
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("-S").arg(&self.socket).env("TERM", "xterm");
        c
    }

    pub fn run(&self, args: &[&str]) -> String {
        let o = self.cmd().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Start the session running `command` (a shell command line) in a
    /// 100x30 pane.
    pub fn start(&self, command: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            "100",
            "-y",
            "30",
            command,
        ]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", self.session])
    }

    /// Type `keys` (literally) and Enter.
    pub fn type_line(&self, keys: &str) {
        self.run(&["send-keys", "-t", self.session, "-l", keys]);
        self.run(&["send-keys", "-t", self.session, "Enter"]);
    }

    /// Wait until the pane shows `text`; a generous limit keeps a broken
    /// build from hanging the suite.
    pub fn wait_for_screen(&self, text: &str) {
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
