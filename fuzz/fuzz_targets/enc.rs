//! Fuzz target `enc`: the properties of shroud::fuzzing (run with
//! `cargo +nightly fuzz run enc`, see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shroud::fuzzing::check_target("enc", data);
});
