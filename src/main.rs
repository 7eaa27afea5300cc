//! The `shroud` command. All logic lives in the library; this binary parses
//! arguments, reads and writes files, prints, and maps errors to the exit
//! codes SOPS uses.

mod cli;

// mimalloc instead of glibc malloc: a file of 100,000 values means hundreds
// of thousands of small, short-lived allocations (keys, values, ENC strings),
// and glibc's malloc/free and its page faults were a large share of the
// profile. Its default options are kept: they cost 10-30% more peak memory
// than glibc, and turning on immediate purging (MIMALLOC_PURGE_DELAY=0 in
// the environment) gives that back for 5-30% more CPU time; the numbers are
// in docs/benchmarks.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages off from the very start, before the allocator
/// first asks the kernel for memory (which happens before `main`): see
/// `cli::huge_pages` for why, and where they are turned back on. An
/// `.init_array` entry runs as the program is loaded, before any Rust code.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static SMALL_PAGES_FIRST: extern "C" fn() = {
    extern "C" fn small_pages_first() {
        cli::huge_pages(false);
    }
    small_pages_first
};

fn main() -> std::process::ExitCode {
    cli::main()
}
