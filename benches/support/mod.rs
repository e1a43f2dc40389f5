//! Set-up shared by the benchmarks: the generated input and the counters a
//! frame is read from, so that every bench measures the same data.

use std::sync::Arc;

use scanwall::commands::generate::write_demo;
use scanwall::counting::{Counters, Decay, PacketSink};
use scanwall::maps::MAPS;
use scanwall::parse::{Classifier, LinkType, LocalNets};
use scanwall::source::RecordSource;
use scanwall::source::pcap_format::SliceReader;

/// Demo packets in the generated capture.
pub const PACKETS: u64 = 200_000;

/// The demo traffic as a classic pcap in memory (nothing downloaded).
pub fn capture() -> Vec<u8> {
    let mut bytes = Vec::new();
    write_demo(&mut bytes, PACKETS, 1_000_000.0, 1).expect("generate");
    bytes
}

/// The classifier of the capture's frames (Ethernet, every packet inbound).
pub fn classifier() -> Classifier {
    Classifier::new(LinkType::Ethernet, LocalNets::default())
}

/// Decayed counters of all nine maps as two capture threads leave them: each
/// counted `bytes` (a capture) into its own shard.
pub fn two_thread_counters(bytes: &[u8]) -> Arc<Counters> {
    let counters = Counters::new((0..MAPS.len()).collect(), Decay::default());
    for _ in 0..2 {
        let mut sink = PacketSink::new(classifier(), counters.writer());
        let mut r = SliceReader::new(bytes, "bench").expect("pcap");
        while let Ok(Some(rec)) = r.next_record() {
            sink.packet(rec.ts_ns, rec.wire_len, rec.data);
        }
        sink.flush();
    }
    counters
}
