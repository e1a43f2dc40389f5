//! The packet parser over every link type (the first byte selects it); the
//! body is `scanwall::fuzzing::parse_packet`, which the test suite replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scanwall::fuzzing::parse_packet(data));
