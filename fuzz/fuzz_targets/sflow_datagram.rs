//! The sFlow v5 datagram decoder and collector counting (one UDP payload per
//! input); the body is `scanwall::source::sflow::fuzz::sflow_datagram`, which
//! the test suite replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scanwall::source::sflow::fuzz::sflow_datagram(data));
