//! The sensor protocol's frame decoder (what a wall reads from sensors); the
//! body is `scanwall::sensor::fuzz::sensor_frames`, which the test suite replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    scanwall::sensor::fuzz::sensor_frames(data);
});
