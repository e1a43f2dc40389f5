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

/// Seed inputs for `netflow_datagram`: the datagrams written out from the
/// RFCs, well-formed datagrams of every version (templates, options and data
/// in one datagram, IPv4 and IPv6 flows, sampling, withdrawals), and
/// hostile ones: cut short, lying set and message lengths, zero-length
/// fields, sampling 0 and 2^32 - 1, reserved set ids, an oversized v5 count.
pub fn seeds() -> Vec<Vec<u8>> {
    use super::craft::{
        self, FLOW_V4, FLOW_V6, Flow, IPFIX_MESSAGE, V5_ONE, V9_PACKET, ipfix, ipfix_options_template, set,
        template, v5, v9, v9_options_template,
    };

    let syn = Flow::v4([198, 51, 100, 1], [192, 0, 2, 37], 6, 8080, 0x02, 2, 80);
    let dns = Flow::v4([198, 51, 100, 2], [192, 0, 2, 53], 17, 53, 0, 3, 228);
    let ping = Flow::v6(
        [0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34],
        58,
        0,
        0,
        4,
        4 * 104,
    );
    let sampling = |n: u32| {
        let mut o = vec![0, 0, 0, 1];
        o.extend_from_slice(&n.to_be_bytes());
        o
    };
    let ipfix_full = ipfix(
        1,
        0,
        &[
            set(3, &ipfix_options_template(257, &[(302, 4)], &[(34, 4)])),
            set(257, &sampling(16)),
            set(2, &[template(256, &FLOW_V4), template(258, &FLOW_V6)].concat()),
            set(256, &[syn.record_v4(), dns.record_v4()].concat()),
            set(258, &ping.record_v6()),
        ],
    );
    let v9_full = v9(
        2,
        5,
        4,
        &[
            set(1, &v9_options_template(300, &[(1, 4)], &[(34, 4)])),
            set(300, &sampling(100)),
            set(0, &template(301, &FLOW_V4)),
            set(301, &[syn.record_v4(), dns.record_v4(), vec![0, 0]].concat()),
        ],
    );
    let mut out = vec![
        V5_ONE.to_vec(),
        V9_PACKET.to_vec(),
        IPFIX_MESSAGE.to_vec(),
        v5(0, 0, &[syn, dns]),
        v5(7, 1000, &[syn; 30]),
        ipfix_full.clone(),
        v9_full.clone(),
        // Data before its template, then a withdrawal of all data templates.
        ipfix(1, 0, &[set(256, &syn.record_v4()), set(2, &template(2, &[]))]),
        // Zero-length fields; a template of nothing but them.
        ipfix(
            1,
            0,
            &[
                set(2, &template(259, &[(12, 4), (2, 4), (4, 0), (11, 0)])),
                set(259, &[192, 0, 2, 1, 0, 0, 0, 1]),
            ],
        ),
        ipfix(
            1,
            0,
            &[set(2, &template(260, &[(12, 0), (2, 0)])), set(260, &[1, 2, 3])],
        ),
        // Sampling 0 and 2^32 - 1.
        ipfix(
            1,
            0,
            &[
                set(3, &ipfix_options_template(257, &[(302, 4)], &[(34, 4)])),
                set(257, &sampling(0)),
            ],
        ),
        ipfix(
            1,
            0,
            &[
                set(3, &ipfix_options_template(257, &[(302, 4)], &[(34, 4)])),
                set(257, &sampling(u32::MAX)),
                set(2, &template(256, &FLOW_V4)),
                set(256, &syn.record_v4()),
            ],
        ),
        // Variable-length and enterprise fields; a variable length that lies.
        ipfix(
            1,
            0,
            &[
                set(2, &template(261, &[(12, 4), (2, 4), (82, 65_535)])),
                set(
                    261,
                    &[
                        192, 0, 2, 1, 0, 0, 0, 1, 255, 0, 2, b'a', b'b', 192, 0, 2, 2, 0, 0, 0, 1, 9,
                    ],
                ),
            ],
        ),
        // Reserved set ids, an empty message, a v9 header alone.
        ipfix(1, 0, &[set(4, &[0; 4]), set(255, &[])]),
        ipfix(0, 0, &[]),
        v9(0, 0, 0, &[]),
        craft::v5(0, 0, &[]),
    ];
    for cut in [0, 1, 4, 15, 17, 20, 40, 60] {
        out.push(ipfix_full.get(..cut).unwrap_or_default().to_vec());
        out.push(v9_full.get(..cut).unwrap_or_default().to_vec());
    }
    // Lengths that lie: message length, set length (0, 3, past the end), field count; v5 count 31.
    for (at, value) in [
        (2usize, 0u16),
        (2, 0xffff),
        (18, 0),
        (18, 3),
        (18, 0xfff0),
        (22, 0xffff),
    ] {
        let mut d = ipfix_full.clone();
        if let Some(field) = d.get_mut(at..at + 2) {
            field.copy_from_slice(&value.to_be_bytes());
        }
        out.push(d);
    }
    let mut many = V5_ONE.to_vec();
    many[3] = 31;
    out.push(many);
    out
}

#[cfg(test)]
mod tests {
    /// A stable-Rust stand-in for a fuzzing run: every seed with bytes
    /// overwritten, cut and extended by a fixed pseudo-random sequence (so a
    /// failure reproduces), through the target's body.
    #[test]
    fn mutated_seeds_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in super::seeds() {
            for _ in 0..300 {
                let mut input = seed.clone();
                for _ in 0..=next() % 4 {
                    let r = next();
                    match r % 4 {
                        0 if !input.is_empty() => {
                            let at = (r >> 8) as usize % input.len();
                            input[at] = (r >> 40) as u8;
                        }
                        1 if !input.is_empty() => {
                            let at = (r >> 8) as usize % input.len();
                            input[at] = [0, 0xff, 1, 0x80][(r >> 40) as usize % 4];
                        }
                        2 => input.truncate((r >> 8) as usize % (input.len() + 1)),
                        _ => input.extend_from_slice(&r.to_be_bytes()[..(r >> 60) as usize % 8]),
                    }
                }
                super::netflow_datagram(&input);
            }
        }
    }
}
