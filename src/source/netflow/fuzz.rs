//! The body of the `netflow_datagram` fuzz target (`fuzz/fuzz_targets/`),
//! kept in the library so `tests/fuzz_corpus.rs` replays the committed
//! corpus through exactly this code on stable Rust, without libFuzzer.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::decode::{Datagram, Element};
use super::ingest::{NetflowIngest, NetflowStats};
use crate::counting::{Counters, Decay};
use crate::maps::MAPS;
use crate::parse::LocalNets;
use crate::source::SourceStatus;

thread_local! {
    /// One set of counters per thread: 65,536 cells per map are too many to
    /// allocate per input.
    static COUNTERS: RefCell<Option<Arc<Counters>>> = const { RefCell::new(None) };
}

/// Fuzz target `netflow_datagram`: the bytes are one UDP payload. Decoding
/// must not panic; a datagram that parses must visit exactly what its
/// checking walk found, with every slice inside the datagram; counting it
/// twice (the second time its own templates are known) must add exactly the
/// packets it reports, and a datagram that does not parse must add none.
pub fn netflow_datagram(data: &[u8]) {
    if let Ok(datagram) = Datagram::parse(data) {
        let within = data.as_ptr_range();
        let inside = |s: &[u8]| {
            let r = s.as_ptr_range();
            assert!(
                within.start <= r.start && r.end <= within.end,
                "slice outside the datagram"
            );
        };
        let (mut templates, mut sets, mut v5) = (0, 0, 0);
        datagram.visit(&mut |e| match e {
            Element::Template(t) => {
                assert!(t.fields().count() <= usize::from(t.field_count));
                templates += 1;
            }
            Element::Data { body, .. } => {
                inside(body);
                sets += 1;
            }
            Element::V5Record(r) => {
                inside(r);
                assert_eq!(r.len(), super::decode::V5_RECORD);
                v5 += 1;
            }
        });
        let w = datagram.walked;
        assert_eq!((templates, sets, v5), (w.templates, w.data_sets, w.v5_records));
    }
    let counters = COUNTERS.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| Counters::new((0..MAPS.len()).collect(), Decay::NONE))
            .clone()
    });
    let status = Arc::new(SourceStatus::new("fuzz", false));
    let mut ingest = NetflowIngest::new(
        &counters,
        &LocalNets::default(),
        status,
        Arc::new(NetflowStats::default()),
    );
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for ts in [1, 2] {
        let before = counters.totals().packets;
        let added = ingest.datagram(ts, from, data).map_or(0, |c| c.packets);
        let after = counters.totals().packets;
        assert_eq!(after.wrapping_sub(before), added, "packets counted");
    }
    counters.release(ingest.into_writer());
}
