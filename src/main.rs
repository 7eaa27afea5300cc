//! The `shroud` command. All logic lives in the library; this binary parses
//! arguments, reads and writes files, prints, and maps errors to the exit
//! codes SOPS uses.

mod cli;

// mimalloc instead of glibc malloc: a file of 100,000 values means hundreds
// of thousands of small, short-lived allocations (keys, values, ENC strings),
// and glibc's malloc/free and its page faults were a large share of the
// profile (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's own option setter (the `mimalloc` crate exposes it only with
// its `extended` feature, whose extra dependency is not worth it for one
// call). The numbers are `mi_option_e` of the mimalloc v3 sources that
// libmimalloc-sys 0.1.49 builds (include/mimalloc.h); Cargo.lock pins them.
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}
const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// By default mimalloc commits whole arenas up front and gives freed memory
/// back only after a delay, which raised peak RSS by 10-30% over glibc on
/// the 3 MB benchmark files. Committing on demand and purging at once keeps
/// peak RSS below glibc's (docs/benchmarks.md) for a little system time.
fn tune_allocator() {
    // SAFETY: plain setters of mimalloc's global options, valid at any time.
    unsafe {
        mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    cli::main()
}
