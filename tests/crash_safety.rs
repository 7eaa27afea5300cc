//! In-place writes survive SIGKILL: `shroud rotate -i` on a large encrypted
//! file is killed at random moments, and every time the file must be either
//! the complete old version (byte for byte) or a complete new version that
//! decrypts to the same plaintext. The only thing a kill may leave behind is
//! a `.shroud-tmp-*` file (documented in docs/format.md): the killed process
//! cannot remove it.
//!
//! Most kills are aimed at the write itself: the test watches the directory
//! and kills shroud a random moment after its temporary file appears, which
//! is the only window in which a non-atomic write could damage the file.
//! The others land anywhere in the run.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use common::{identity_file, recipient, shroud};

const RUNS: usize = 24;

/// A small deterministic generator (xorshift64*), seeded per run and
/// printed, so a failure can be replayed with SHROUD_CRASH_SEED.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".shroud-tmp-")
        })
        .collect()
}

fn rotate(dir: &Path, file: &Path) -> Child {
    shroud(dir)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["rotate", "-i"])
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn decrypt(dir: &Path, file: &Path) -> std::process::Output {
    shroud(dir)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .arg("decrypt")
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn sigkill_during_rotate_never_leaves_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let files = home.join("files");
    fs::create_dir(&files).unwrap();
    // ~1 MB of plaintext, ~1.3 MB once encrypted, in 300 values (many
    // small values would only make each run slower, not the test better).
    let mut plain = String::from("# crash-safety test data\n");
    for i in 0..300 {
        plain.push_str(&format!("key_{i}: {}\n", format!("v{i:06}-").repeat(400)));
    }
    let plain_path = home.join("plain.yaml");
    fs::write(&plain_path, &plain).unwrap();
    let file = files.join("big.yaml");
    let o = shroud(home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&file)
        .arg(&plain_path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::metadata(&file).unwrap().len() > 1_000_000);

    // How long a whole rotation takes here, to spread the blind kills over
    // it (a calibration, not an assertion).
    let started = Instant::now();
    let status = rotate(home, &file).wait().unwrap();
    assert!(status.success());
    let full = started.elapsed();
    assert!(
        temp_files(&files).is_empty(),
        "a finished rotate left a temp file"
    );

    let seed = std::env::var("SHROUD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("SHROUD_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let mut current = fs::read(&file).unwrap();
    let (mut old_kept, mut new_written, mut leftovers, mut in_write) = (0, 0, 0, 0);
    for run in 0..RUNS {
        let mut child = rotate(home, &file);
        let aimed = run % 3 != 0;
        if aimed {
            // Wait for the temporary file, then kill within a few ms.
            let deadline = Instant::now() + full * 4 + Duration::from_secs(5);
            while temp_files(&files).is_empty()
                && Instant::now() < deadline
                && child.try_wait().unwrap().is_none()
            {
                std::thread::sleep(Duration::from_micros(500));
            }
            std::thread::sleep(Duration::from_micros(rng.below(3000)));
        } else {
            let ms = rng.below(full.as_millis() as u64 + 1);
            std::thread::sleep(Duration::from_millis(ms));
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let left = temp_files(&files);
        for t in &left {
            let mode = fs::metadata(t).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "run {run}: a leftover temp file is {mode:o}");
            fs::remove_file(t).unwrap();
        }
        if !left.is_empty() {
            leftovers += 1;
        }
        let others: Vec<_> = fs::read_dir(&files)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "big.yaml")
            .collect();
        assert!(others.is_empty(), "run {run}: unexpected files {others:?}");

        let now = fs::read(&file).unwrap();
        if now == current {
            old_kept += 1;
            if !left.is_empty() {
                in_write += 1;
            }
            continue;
        }
        // Not the old file: it must be a whole new one that decrypts.
        let o = decrypt(home, &file);
        assert!(
            o.status.success(),
            "run {run} (seed {seed}): the file is neither the old version nor a valid new one: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.stdout == plain.as_bytes(),
            "run {run}: the new version decrypts to other data"
        );
        new_written += 1;
        current = now;
    }
    println!(
        "{RUNS} kills: {old_kept} left the old file ({in_write} of them while the temp file \
         existed), {new_written} found the new file, {leftovers} left a temp file"
    );
    // The file is usable afterwards in every case.
    let o = decrypt(home, &file);
    assert!(o.status.success());
    assert!(o.stdout == plain.as_bytes());
}

#[test]
fn in_place_write_keeps_mode_and_owner() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let file = home.join("s.yaml");
    let o = shroud(home)
        .args(["encrypt", "--age", &recipient("alice"), "--output"])
        .arg(&file)
        .arg(common::testdata("example.yaml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A new encrypted file is private.
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        // Hand the file to another user, as root can; rotate must keep it.
        std::os::unix::fs::chown(&file, Some(4321), Some(4322)).unwrap();
    }
    let before = fs::metadata(&file).unwrap();
    let o = shroud(home)
        .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
        .args(["rotate", "-i"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = fs::metadata(&file).unwrap();
    assert_ne!(
        before.ino(),
        after.ino(),
        "the file was replaced, not rewritten"
    );
    assert_eq!(after.permissions().mode() & 0o777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    if root {
        assert_eq!((after.uid(), after.gid()), (4321, 4322));
    }
    assert!(temp_files(home).is_empty());
}
