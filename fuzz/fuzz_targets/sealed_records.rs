//! The sensor protocol's sealed transport (what a wall opens from sensors
//! after the handshake): forged records are refused, altered ones too, and
//! nothing panics; the body is `scanwall::sensor::fuzz::sealed_records`,
//! which the test suite replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    scanwall::sensor::fuzz::sealed_records(data);
});
