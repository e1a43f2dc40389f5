//! A `--config` TOML file given to the wall, `count` and `snapshot`; the body
//! is `scanwall::fuzzing::config_file`, which the test suite replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scanwall::fuzzing::config_file(data));
