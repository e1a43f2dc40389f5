//! The pcap stream reader (`-r -`, `--listen`) against the file reader; the
//! body is `scanwall::fuzzing::read_stream`, which the test suite replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    scanwall::fuzzing::read_stream(data);
});
