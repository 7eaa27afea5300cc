//! Fuzz target `json`: the properties of shroud::fuzzing (run with
//! `cargo +nightly fuzz run json`, see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shroud::fuzzing::check_target("json", data);
});
