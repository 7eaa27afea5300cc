//! `shroud edit` when things stop half way: shroud itself receives SIGTERM
//! or SIGHUP while the editor is open, or the editor is killed. In every
//! case the plaintext folder goes and the encrypted file stays as it was.
//! Also: no core dump can be written while the plaintext is held.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{identity_file, recipient, shroud};

struct Setup {
    dir: tempfile::TempDir,
    runtime: PathBuf,
    file: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        fs::create_dir(&runtime).unwrap();
        let plain = dir.path().join("plain.yaml");
        fs::write(&plain, "db:\n  password: hunter2\n").unwrap();
        let file = dir.path().join("s.yaml");
        let o = shroud(dir.path())
            .args(["encrypt", "--age", &recipient("alice"), "--output"])
            .arg(&file)
            .arg(&plain)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Setup { dir, runtime, file }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Start `shroud edit` with a shell-script editor.
    fn start(&self, body: &str) -> Child {
        let editor = self.path("editor.sh");
        fs::write(&editor, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&editor, fs::Permissions::from_mode(0o755)).unwrap();
        shroud(self.dir.path())
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .env("EDITOR", &editor)
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .arg("edit")
            .arg(&self.file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn runtime_is_empty(&self) -> bool {
        fs::read_dir(&self.runtime).unwrap().count() == 0
    }
}

/// Wait until `path` exists (written by the editor script), or give up
/// after a generous limit so a broken build cannot hang the suite.
fn wait_for(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(s) = fs::read_to_string(path)
            && s.ends_with('\n')
        {
            return s.trim().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the editor never started ({} missing)",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("shroud did not exit after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The soft and hard RLIMIT_CORE of a running process, from /proc.
fn core_limit(pid: u32) -> (String, String) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let mut fields = line["Max core file size".len()..].split_whitespace();
    (
        fields.next().unwrap().to_string(),
        fields.next().unwrap().to_string(),
    )
}

/// Whether a process is still running (not gone, not a zombie).
fn editor_alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

/// shroud receives `sig` while the editor has the plaintext open.
fn signalled_while_editing(sig: i32) {
    let s = Setup::new();
    let before = fs::read(&s.file).unwrap();
    let marker = s.path("tmpfile");
    let pidfile = s.path("editor.pid");
    // The editor says where the plaintext is, then waits (as a person
    // would); `exec` makes the script's pid the sleeping process.
    let mut child = s.start(&format!(
        "echo $$ > '{p}.t' && mv '{p}.t' '{p}'\necho \"$1\" > '{m}.t' && mv '{m}.t' '{m}'\nexec sleep 120",
        p = pidfile.display(),
        m = marker.display()
    ));
    let tmp = PathBuf::from(wait_for(&marker));
    let editor_pid: i32 = wait_for(&pidfile).parse().unwrap();
    assert!(tmp.starts_with(&s.runtime), "{}", tmp.display());
    assert!(
        fs::read_to_string(&tmp).unwrap().contains("hunter2"),
        "the editor sees the plaintext"
    );
    // No core dump while the plaintext is in memory.
    assert_eq!(core_limit(child.id()), ("0".into(), "0".into()));

    // SAFETY: kill(2) on the pid of a child this test started.
    unsafe { libc::kill(child.id() as i32, sig) };
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(128 + sig), "{status:?}");
    // shroud passed the signal on: the editor is gone too.
    let start = Instant::now();
    while editor_alive(editor_pid) {
        if start.elapsed() > Duration::from_secs(60) {
            // SAFETY: kill(2) on the editor this test started.
            unsafe { libc::kill(editor_pid, libc::SIGKILL) };
            panic!("the editor was left running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!tmp.exists(), "the plaintext file is still there");
    assert!(s.runtime_is_empty(), "the private folder is still there");
    assert_eq!(fs::read(&s.file).unwrap(), before, "the file was changed");
}

#[test]
fn sigterm_while_editing_removes_the_plaintext_and_keeps_the_file() {
    signalled_while_editing(libc::SIGTERM);
}

#[test]
fn sighup_while_editing_removes_the_plaintext_and_keeps_the_file() {
    signalled_while_editing(libc::SIGHUP);
}

#[test]
fn an_editor_killed_by_a_signal_exits_201_and_leaves_nothing() {
    let s = Setup::new();
    let before = fs::read(&s.file).unwrap();
    // The editor changes the text, then dies before exiting normally.
    let mut child = s.start("echo 'db: {password: changed}' > \"$1\"\nkill -KILL $$");
    let status = wait_exit(&mut child);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(
        status.code(),
        Some(201),
        "{status:?} {:?}: {err}",
        status.signal()
    );
    assert!(err.contains("unchanged"), "{err}");
    assert!(s.runtime_is_empty(), "the private folder is still there");
    assert_eq!(fs::read(&s.file).unwrap(), before);
}
