//! An ordered parallel map with a bounded lead: pieces of a document are
//! parsed and encrypted (or decrypted) on every core, and their results
//! are handed on in document order, with at most a few pieces done ahead
//! of the one being written, so memory stays bounded whatever the file's
//! size.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

struct Shared<R> {
    done: BTreeMap<usize, R>,
    /// The index the sink waits for next.
    next_to_sink: usize,
    /// The sink failed or a worker panicked: stop taking work.
    stop: bool,
}

/// Sets `stop` when a worker unwinds, so the sink never waits for a
/// result that will not come (the panic then resurfaces at the join).
struct StopOnPanic<'a, R> {
    state: &'a Mutex<Shared<R>>,
    cv: &'a Condvar,
}

impl<R> Drop for StopOnPanic<'_, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(self.state).stop = true;
            self.cv.notify_all();
        }
    }
}

fn lock<R>(m: &Mutex<Shared<R>>) -> MutexGuard<'_, Shared<R>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Call `work(i)` for every `i` in `0..n` on up to `threads` threads, and
/// `sink(i, result)` on the calling thread in order of `i`. A worker does
/// not start item `i` before `sink` has taken item `i - ahead`. The first
/// error from `sink` stops everything and is returned.
pub fn ordered<R: Send, E>(
    n: usize,
    threads: usize,
    ahead: usize,
    work: impl Fn(usize) -> R + Sync,
    mut sink: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E> {
    let (threads, ahead) = (threads.max(1), ahead.max(1));
    if threads == 1 || n <= 1 {
        for i in 0..n {
            sink(i, work(i))?;
        }
        return Ok(());
    }
    let state = Mutex::new(Shared {
        done: BTreeMap::new(),
        next_to_sink: 0,
        stop: false,
    });
    let cv = Condvar::new();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(n) {
            scope.spawn(|| {
                let _guard = StopOnPanic {
                    state: &state,
                    cv: &cv,
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    {
                        let mut g = lock(&state);
                        while !g.stop && i >= g.next_to_sink + ahead {
                            g = cv.wait(g).unwrap_or_else(PoisonError::into_inner);
                        }
                        if g.stop {
                            break;
                        }
                    }
                    let r = work(i);
                    lock(&state).done.insert(i, r);
                    cv.notify_all();
                }
            });
        }
        let mut result = Ok(());
        for i in 0..n {
            let r = {
                let mut g = lock(&state);
                loop {
                    if let Some(r) = g.done.remove(&i) {
                        g.next_to_sink = i + 1;
                        break Some(r);
                    }
                    if g.stop {
                        break None;
                    }
                    g = cv.wait(g).unwrap_or_else(PoisonError::into_inner);
                }
            };
            cv.notify_all();
            // None: a worker panicked; the scope's join re-raises it.
            let Some(r) = r else { break };
            if let Err(e) = sink(i, r) {
                result = Err(e);
                break;
            }
        }
        lock(&state).stop = true;
        cv.notify_all();
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_order_whatever_order_they_finish_in() {
        let mut seen = Vec::new();
        ordered::<_, ()>(
            200,
            4,
            3,
            |i| {
                // Later items finish first now and then.
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                i * 2
            },
            |i, r| {
                assert_eq!(r, i * 2);
                seen.push(i);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn no_item_starts_more_than_ahead_items_before_the_sink() {
        let sunk = AtomicUsize::new(0);
        ordered::<_, ()>(
            100,
            3,
            2,
            |i| {
                // Taken by the sink is one more than sunk, at most.
                let s = sunk.load(Ordering::SeqCst);
                assert!(i < s + 1 + 2, "item {i} started when {s} were sunk");
            },
            |_, ()| {
                sunk.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
    }

    #[test]
    fn the_first_sink_error_stops_the_run() {
        let started = AtomicUsize::new(0);
        let mut sunk = 0;
        let r = ordered(
            1000,
            2,
            2,
            |_| {
                started.fetch_add(1, Ordering::SeqCst);
            },
            |i, ()| {
                sunk += 1;
                if i == 10 { Err("stop") } else { Ok(()) }
            },
        );
        assert_eq!(r, Err("stop"));
        assert_eq!(sunk, 11);
        assert!(started.load(Ordering::SeqCst) <= 13);
    }

    #[test]
    #[should_panic(expected = "a scoped thread panicked")]
    fn a_panicking_worker_does_not_hang_the_sink() {
        let _ = ordered::<_, ()>(
            50,
            2,
            2,
            |i| {
                if i == 5 {
                    panic!("boom");
                }
            },
            |_, ()| Ok(()),
        );
    }
}
