//! The NetFlow v5/v9 and IPFIX decoder and collector counting (one UDP
//! payload per input); the body is
//! `scanwall::source::netflow::fuzz::netflow_datagram`, which the test suite
//! replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scanwall::source::netflow::fuzz::netflow_datagram(data));
