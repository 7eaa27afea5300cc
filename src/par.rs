//! Splitting per-value work across the machine's cores.
//!
//! Encrypting or decrypting a value (AES-GCM, base64, the AAD) depends on
//! nothing but the value and its key path, so the engine does that part for
//! big documents on several threads, each over one contiguous run of leaves,
//! and keeps everything order-dependent (rules, comment stack, MAC) in one
//! sequential pass. Plain `std::thread::scope`: no thread pool to start or
//! keep, and small inputs never leave the calling thread.

/// Below this many items per thread, a thread costs more than it saves.
const MIN_PER_THREAD: usize = 2048;

/// At most this many threads: the work is short and memory-bound beyond it.
const MAX_THREADS: usize = 8;

/// How many threads to use for `n` items, each thread taking at least
/// `min_per_thread`.
fn threads_for(n: usize, min_per_thread: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    cores.min(MAX_THREADS).min(n / min_per_thread.max(1)).max(1)
}

/// Call `f(first, chunk)` for contiguous chunks of `out` that together
/// cover it, where `first` is the index in `out` of the chunk's first item.
/// Chunks run on separate threads when `out` is large enough; the calling
/// thread takes the first chunk itself.
pub fn for_each_chunk<R: Send>(out: &mut [R], f: impl Fn(usize, &mut [R]) + Sync) {
    for_each_chunk_min(out, MIN_PER_THREAD, f)
}

/// [`for_each_chunk`] for items that each stand for a lot of work (say, one
/// digest over thousands of leaves): a thread for every `min_per_thread`
/// items.
pub fn for_each_chunk_min<R: Send>(
    out: &mut [R],
    min_per_thread: usize,
    f: impl Fn(usize, &mut [R]) + Sync,
) {
    let threads = threads_for(out.len(), min_per_thread);
    if threads <= 1 {
        f(0, out);
        return;
    }
    let per = out.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = out.chunks_mut(per).enumerate();
        let first = chunks.next();
        for (i, chunk) in chunks {
            let f = &f;
            scope.spawn(move || f(i * per, chunk));
        }
        if let Some((_, chunk)) = first {
            f(0, chunk);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_visited_once_with_its_own_index() {
        for n in [0, 1, 5, MIN_PER_THREAD * 2 + 7, MIN_PER_THREAD * 9 + 1] {
            let mut out = vec![usize::MAX; n];
            for_each_chunk(&mut out, |first, chunk| {
                for (i, slot) in chunk.iter_mut().enumerate() {
                    assert_eq!(*slot, usize::MAX, "visited twice");
                    *slot = first + i;
                }
            });
            assert!(out.iter().enumerate().all(|(i, &v)| v == i), "n = {n}");
        }
    }
}
