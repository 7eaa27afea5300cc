//! Fuzz target `dotenv`: the properties of shroud::fuzzing (run with
//! `cargo +nightly fuzz run dotenv`, see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shroud::fuzzing::check_target("dotenv", data);
});
