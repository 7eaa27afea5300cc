//! Running one command over many files: in parallel, with a progress bar on
//! a terminal, and a summary that names every file that failed.
//!
//! Threads come from `std::thread::scope` with a shared work index rather
//! than rayon: the work is a flat list of independent files, each a few
//! milliseconds of CPU, so a queue of file indices over N scoped threads is
//! all that is needed, and it keeps rayon's global pool out of the binary.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use shroud::error::exit;

/// Where a job's messages go: above the progress bar when there is one, so
/// the bar is not torn, else straight to stderr.
pub struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A note (hidden by `--quiet`, like `ui::note`).
    pub fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None if super::ui::level() >= super::ui::Level::Normal => eprintln!("{message}"),
            None => {}
        }
    }

    /// A warning (hidden by `--quiet`, like `ui::warn`).
    pub fn warn(&self, message: &str) {
        self.note(&format!("shroud: warning: {message}"));
    }

    /// Run `f` with the bar hidden (for prompts).
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

/// How many threads to use for `n` files. Writing a file waits on two
/// fsyncs (the file, then its folder, for an atomic and durable replace),
/// during which a thread uses no CPU, and the filesystem journal commits
/// concurrent fsyncs together; so there are more threads than cores
/// (`SHROUD_JOBS` overrides), never more than there are files.
fn workers(n: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let wanted = std::env::var("SHROUD_JOBS")
        .ok()
        .and_then(|j| j.parse::<usize>().ok())
        .filter(|&j| j > 0)
        .unwrap_or((cores * 8).min(32));
    wanted.min(n).max(1)
}

/// Run `job` on every file, `parallel` or one after another (when a job may
/// prompt). Returns each file's result in input order.
pub fn run<T, F>(verb: &str, files: &[PathBuf], parallel: bool, job: F) -> Vec<anyhow::Result<T>>
where
    T: Send,
    F: Fn(&PathBuf, &Reporter) -> anyhow::Result<T> + Sync,
{
    let bar = (files.len() > 1 && super::ui::progress_wanted()).then(|| {
        let bar = ProgressBar::new(files.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files ({elapsed})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(verb.to_string());
        bar
    });
    let reporter = Reporter { bar };
    let results: Vec<Mutex<Option<anyhow::Result<T>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = if parallel { workers(files.len()) } else { 1 };
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(file) = files.get(i) else { break };
            let r = job(file, &reporter);
            if let Ok(mut slot) = results[i].lock() {
                *slot = Some(r);
            }
            if let Some(bar) = &reporter.bar {
                bar.inc(1);
            }
        }
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    if let Some(bar) = &reporter.bar {
        bar.finish_and_clear();
    }
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(anyhow::anyhow!("the worker thread stopped early")))
        })
        .collect()
}

/// The exit code after a batch: with one file its error is returned as is
/// (so its own exit code and message apply); with several, every failure is
/// printed with its file name, then `n ok, n failed`, and the code is 1 if
/// any failed.
pub fn summarise<T>(
    verb: &str,
    files: &[PathBuf],
    results: Vec<anyhow::Result<T>>,
) -> anyhow::Result<i32> {
    if files.len() == 1 {
        return results
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(anyhow::anyhow!("no result")))
            .map(|_| 0);
    }
    let mut failed = 0;
    for (file, r) in files.iter().zip(&results) {
        if let Err(e) = r {
            failed += 1;
            // Every line names the file in the same place, so the lines can
            // be grepped; most errors already start with the name.
            let name = file.display().to_string();
            let message = format!("{e:#}");
            if message.starts_with(&name) {
                eprintln!("shroud: {verb} failed: {message}");
            } else {
                eprintln!("shroud: {verb} failed: {name}: {message}");
            }
        }
    }
    eprintln!(
        "shroud: {verb}: {} ok, {failed} failed",
        files.len() - failed
    );
    Ok(if failed > 0 { exit::GENERIC } else { 0 })
}
