//! Counting and decay, driven by an explicit packet clock.

use super::*;
use crate::maps::by_name;
use crate::parse::PacketFacts;
use std::time::Duration;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

fn syn_to(dst_low16: u16, port: u16) -> PacketFacts {
    PacketFacts {
        dst_low16,
        length: 60,
        port,
        flags: PacketFacts::TCP | PacketFacts::L4_PRESENT | PacketFacts::SYN_ONLY,
    }
}

/// Counts one packet and makes it visible at once (sources flush batches
/// themselves when input pauses).
fn add(w: &mut ShardWriter, ts: u64, facts: &PacketFacts) {
    w.add(ts, facts);
    w.flush();
}

fn value(c: &Counters, map: &str, key: u16, at: u64) -> f32 {
    let mut out = vec![0.0; CELLS];
    assert!(c.read_map(by_name(map).unwrap(), at, &mut out).is_some());
    out[usize::from(key)]
}

fn exp(half_life: u64) -> Decay {
    Decay {
        mode: DecayMode::Exponential,
        half_life: HalfLife::new(Duration::from_nanos(half_life)),
    }
}

#[test]
fn exact_counts_sum_over_shards_and_maps() {
    let c = Counters::new((0..9).collect(), Decay::NONE);
    let mut a = c.writer();
    let mut b = c.writer();
    for i in 0..1000u64 {
        a.add(T0 + i, &syn_to(0x0102, 80));
        b.add(T0 + i, &syn_to(0x0102, 443));
    }
    // 1000 packets: full batches are applied as they fill, the rest on flush.
    let syn_map = by_name("syn").unwrap();
    assert!(c.exact_counts(syn_map).unwrap()[0x0102] < 2000);
    a.flush();
    b.skip(T0, crate::parse::SkipReason::NotIp);
    drop(b); // a writer that goes away applies what it holds
    let syn = c.exact_counts(by_name("syn").unwrap()).unwrap();
    assert_eq!(syn[0x0102], 2000);
    let port = c.exact_counts(by_name("synport").unwrap()).unwrap();
    assert_eq!((port[80], port[443]), (1000, 1000));
    let ap = c.exact_counts(by_name("synaddrport").unwrap()).unwrap();
    assert_eq!(ap[(80 << 8) | 0x02], 1000);
    assert_eq!(ap[((443 & 255) << 8) | 0x02], 1000);
    let icmp = c.exact_counts(by_name("icmp").unwrap()).unwrap();
    assert_eq!(icmp.iter().sum::<u64>(), 0);
    let t = c.totals();
    assert_eq!(t.packets, 2001);
    assert_eq!(t.skipped[crate::parse::SkipReason::NotIp.index()], 1);
    assert_eq!(t.last_ts, Some(T0 + 999));
}

#[test]
fn exponential_decay_halves_per_half_life_on_the_packet_clock() {
    let c = Counters::new(vec![by_name("syn").unwrap()], exp(10 * S));
    let mut w = c.writer();
    for _ in 0..64 {
        add(&mut w, T0, &syn_to(7, 22));
    }
    let v = |at| value(&c, "syn", 7, at);
    assert!((v(T0) - 64.0).abs() < 1e-3);
    assert!((v(T0 + 10 * S) - 32.0).abs() < 1e-3);
    assert!((v(T0 + 5 * S) - 64.0 / 2f32.sqrt()).abs() < 1e-3);
    // Packets at different times each decay from their own time.
    add(&mut w, T0 + 10 * S, &syn_to(7, 22));
    assert!((v(T0 + 10 * S) - 33.0).abs() < 1e-3);
}

#[test]
fn step_decay_halves_at_boundaries_only() {
    let d = Decay {
        mode: DecayMode::Step,
        half_life: HalfLife::DEFAULT,
    };
    let c = Counters::new(vec![by_name("syn").unwrap()], d);
    let mut w = c.writer();
    let base = T0 - T0 % (10 * S);
    for _ in 0..8 {
        add(&mut w, base + 3 * S, &syn_to(1, 1));
    }
    assert_eq!(value(&c, "syn", 1, base + 9 * S), 8.0);
    assert_eq!(value(&c, "syn", 1, base + 10 * S), 4.0);
    assert_eq!(value(&c, "syn", 1, base + 25 * S), 2.0);
}

#[test]
fn thirty_days_of_packet_time_stay_exact() {
    // One packet a minute into one cell for 30 days, with rebasing along the way.
    let c = Counters::new(vec![by_name("syn").unwrap()], exp(10 * S));
    let mut w = c.writer();
    let minutes = 30 * 24 * 60;
    for m in 0..minutes {
        add(&mut w, T0 + m * 60 * S, &syn_to(3, 3));
    }
    let last = T0 + (minutes - 1) * 60 * S;
    // Expected: sum over k>=0 of 2^(-6k) = 1 / (1 - 2^-6).
    let expected = 1.0 / (1.0 - 2f64.powi(-6));
    assert!((f64::from(value(&c, "syn", 3, last)) - expected).abs() < 1e-5);
    // The totals are exact too.
    assert_eq!(c.totals().per_map[0], minutes);
}

#[test]
fn clock_jumps_do_not_poison_cells() {
    let c = Counters::new(vec![by_name("syn").unwrap()], exp(S));
    let mut w = c.writer();
    add(&mut w, 1, &syn_to(5, 5));
    add(&mut w, u64::MAX / 2, &syn_to(5, 5));
    add(&mut w, 2, &syn_to(5, 5)); // far in the past now: weighs nothing
    let v = value(&c, "syn", 5, u64::MAX / 2);
    assert!(v.is_finite() && (v - 1.0).abs() < 1e-6, "{v}");
}

#[test]
fn more_than_2_pow_32_increments_into_one_cell_are_exact() {
    let c = Counters::new(vec![by_name("syn").unwrap()], Decay::NONE);
    let mut w = c.writer();
    // Drive the cell past 2^32 through the public path would take minutes; the
    // 32-bit cells fold into 64-bit totals, so check the fold by starting near it.
    for _ in 0..10 {
        add(&mut w, T0, &syn_to(9, 9));
    }
    w.preload_for_test(by_name("syn").unwrap(), 9, u32::MAX - 3);
    for _ in 0..10 {
        add(&mut w, T0, &syn_to(9, 9));
    }
    assert_eq!(
        c.exact_counts(by_name("syn").unwrap()).unwrap()[9],
        u64::from(u32::MAX) + 7
    );
}

#[test]
fn folding_the_32_bit_cells_keeps_every_map_exact() {
    // Nine maps, three filters sharing cells of different keys: a fold in the
    // middle of the run must leave every cell and total as a plain count.
    let c = Counters::new((0..9).collect(), Decay::NONE);
    let mut w = c.writer();
    let udp = PacketFacts {
        flags: PacketFacts::UDP | PacketFacts::L4_PRESENT,
        ..syn_to(0x0203, 53)
    };
    for _ in 0..300 {
        w.add(T0, &syn_to(0x0102, 80));
        w.add(T0, &udp);
    }
    w.preload_for_test(by_name("all").unwrap(), 7, u32::MAX - 100);
    for _ in 0..300 {
        w.add(T0, &syn_to(0x0102, 80));
        w.add(T0, &udp);
    }
    w.flush();
    let get = |m: &str| c.exact_counts(by_name(m).unwrap()).unwrap();
    assert_eq!(get("all")[7], u64::from(u32::MAX) - 100);
    assert_eq!(get("all")[0x0102], 600);
    assert_eq!(get("all")[0x0203], 600);
    assert_eq!(get("syn")[0x0102], 600);
    assert_eq!(get("syn")[0x0203], 0);
    assert_eq!(get("udp")[0x0203], 600);
    assert_eq!(get("port")[80] + get("port")[53], 1200);
    assert_eq!(get("synport")[80], 600);
    assert_eq!(get("addrport")[(80 << 8) | 0x02], 600);
    assert_eq!(get("addrport")[(53 << 8) | 0x03], 600);
    assert_eq!(get("len")[60], 1200);
    assert_eq!(c.totals().packets, 1200);
    let per_map = c.totals().per_map;
    assert_eq!(per_map[by_name("syn").unwrap()], 600);
    assert_eq!(per_map[by_name("all").unwrap()], 1200);
}

#[test]
fn half_life_change_keeps_current_values() {
    let c = Counters::new(vec![by_name("syn").unwrap()], exp(10 * S));
    let mut w = c.writer();
    for _ in 0..16 {
        add(&mut w, T0, &syn_to(2, 2));
    }
    c.set_half_life(HalfLife::new(Duration::from_secs(1)));
    add(&mut w, T0 + 10 * S, &syn_to(4, 4)); // the writer adopts the new half-life here
    // 16 halved once by the old rule up to T0+10s (epoch aligned), then by the new one.
    let at_switch = value(&c, "syn", 2, T0 + 10 * S);
    assert!((at_switch - 8.0).abs() < 1e-3, "{at_switch}");
    let later = value(&c, "syn", 2, T0 + 12 * S);
    assert!((later - 2.0).abs() < 1e-3, "{later}");
}

#[test]
fn frame_reader_reports_rates_on_the_packet_clock() {
    let c = Counters::new(
        vec![by_name("syn").unwrap(), by_name("all").unwrap()],
        Decay::NONE,
    );
    let mut w = c.writer();
    let mut r = FrameReader::new(c.clone(), vec![by_name("all").unwrap(), by_name("udp").unwrap()]);
    add(&mut w, T0, &syn_to(1, 1));
    r.read(None);
    for i in 0..2000 {
        add(&mut w, T0 + i * (S / 1000), &syn_to(1, 1));
    }
    let f = r.read(None);
    assert_eq!(f.at_ns, Some(T0 + 1999 * (S / 1000)));
    assert!((f.rates_pps[0] - 1000.0).abs() < 5.0, "{:?}", f.rates_pps);
    assert_eq!(f.rates_pps[1], 0.0); // udp is not counted: zeros
    assert_eq!(f.values[0][1], 2001.0);
}

#[cfg(test)]
mod baseline {
    use super::super::*;
    use super::add;
    use crate::parse::PacketFacts;

    const S: u64 = 1_000_000_000;

    fn syn(dst: u16) -> PacketFacts {
        super::syn_to(dst, 22)
    }

    /// Counters of the SYN map with decay and a 10-minute baseline.
    fn syn_with_baseline() -> (crate::maps::MapId, Arc<Counters>) {
        let syn_map = crate::maps::by_name("syn").unwrap();
        let counters = Counters::with_baseline(
            vec![syn_map],
            Decay::default(),
            Some(HalfLife::parse("10m").unwrap()),
        );
        (syn_map, counters)
    }

    #[test]
    fn baseline_decays_with_its_own_half_life() {
        let (syn_map, counters) = syn_with_baseline();
        let mut w = counters.writer();
        add(&mut w, 1_000 * S, &syn(5));
        w.add_repeated(1_000 * S, &syn(5), 7);
        // Ten minutes later: the 10 s decay has forgotten, the baseline halved.
        w.skip(1_600 * S, crate::parse::SkipReason::Filtered);
        let mut out = vec![0.0; CELLS];
        assert!(counters.read_baseline(syn_map, 1_600 * S, &mut out));
        assert!((out[5] - 4.0).abs() < 1e-4, "{}", out[5]);
        counters.read_map(syn_map, 1_600 * S, &mut out);
        assert!(out[5] < 1e-15);
        assert_eq!(counters.totals().per_map, [8]);
    }

    #[test]
    fn frames_read_baselines_only_when_asked_and_keep_the_last() {
        let (syn_map, counters) = syn_with_baseline();
        let mut w = counters.writer();
        add(&mut w, 1_000 * S, &syn(5));
        let mut reader = FrameReader::new(counters.clone(), vec![syn_map]);
        let frame = reader.read_with(None, false);
        assert!(!frame.baselines_read);
        assert_eq!(frame.baselines[0][5], 0.0);
        assert!((frame.values[0][5] - 1.0).abs() < 1e-4);
        let frame = reader.read_with(None, true);
        assert!(frame.baselines_read);
        assert!((frame.baselines[0][5] - 1.0).abs() < 1e-4);
        // More packets: values follow at once, the baseline keeps its last read.
        add(&mut w, 1_000 * S, &syn(5));
        let frame = reader.read_with(None, false);
        assert!((frame.values[0][5] - 2.0).abs() < 1e-4);
        assert!(frame.baselines_read);
        assert!((frame.baselines[0][5] - 1.0).abs() < 1e-4);
        assert!((reader.read(None).baselines[0][5] - 2.0).abs() < 1e-4);
    }

    #[test]
    fn baseline_survives_rebases_exactly() {
        let syn_map = crate::maps::by_name("syn").unwrap();
        let h = HalfLife::parse("1s").unwrap();
        let counters = Counters::with_baseline(
            vec![syn_map],
            Decay {
                mode: DecayMode::Exponential,
                half_life: h,
            },
            Some(HalfLife::parse("2s").unwrap()),
        );
        let mut w = counters.writer();
        // 200 s: the main cells rebase after 64 half-lives, the baseline after 128 s.
        for t in 0..=200u64 {
            add(&mut w, t * S, &syn(1));
        }
        let mut out = vec![0.0; CELLS];
        counters.read_baseline(syn_map, 200 * S, &mut out);
        // Geometric sum of 2^(-k/2), k = 0..=200.
        let want: f64 = (0..=200).map(|k| (-(k as f64) / 2.0).exp2()).sum();
        assert!((f64::from(out[1]) - want).abs() < 1e-4, "{} vs {want}", out[1]);
        counters.read_map(syn_map, 200 * S, &mut out);
        let want: f64 = (0..=200).map(|k| (-(k as f64)).exp2()).sum();
        assert!((f64::from(out[1]) - want).abs() < 1e-4, "{} vs {want}", out[1]);
    }

    #[test]
    fn exact_counts_keep_no_baseline() {
        let counters = Counters::with_baseline(vec![0], Decay::NONE, Some(HalfLife::DEFAULT));
        assert_eq!(counters.baseline(), None);
        let mut w = counters.writer();
        w.add_repeated(
            5,
            &PacketFacts {
                flags: PacketFacts::ICMP,
                ..syn(9)
            },
            3,
        );
        assert_eq!(counters.exact_counts(0).unwrap()[9], 3);
    }
}

#[test]
fn merged_cell_counts_equal_counting_the_packets_here() {
    // A sensor's deltas merged with add_cell/add_totals give the same cells,
    // decayed values and totals as counting the same packets locally.
    let syn = by_name("syn").unwrap();
    let maps = vec![syn, by_name("synport").unwrap()];
    let local = Counters::with_baseline(
        maps.clone(),
        exp(10 * S),
        Some(HalfLife::new(Duration::from_secs(600))),
    );
    let merged = Counters::with_baseline(maps, exp(10 * S), Some(HalfLife::new(Duration::from_secs(600))));
    let mut w = local.writer();
    for _ in 0..5 {
        add(&mut w, T0, &syn_to(7, 22));
    }
    w.skip(T0, crate::parse::SkipReason::NotIp);
    w.flush();
    let mut m = merged.writer();
    assert_eq!(m.add_cell(T0, syn, 7, 5), Some(false));
    assert_eq!(m.add_cell(T0, by_name("synport").unwrap(), 22, 5), Some(false));
    assert_eq!(
        m.add_cell(T0, by_name("udp").unwrap(), 22, 5),
        None,
        "map not counted"
    );
    m.add_totals(T0, 6, &[(crate::parse::SkipReason::NotIp, 1)]);
    for at in [T0, T0 + 10 * S] {
        assert_eq!(value(&local, "syn", 7, at), value(&merged, "syn", 7, at));
        assert_eq!(
            value(&local, "synport", 22, at),
            value(&merged, "synport", 22, at)
        );
    }
    let (mut a, mut b) = (vec![0.0; CELLS], vec![0.0; CELLS]);
    assert!(local.read_baseline(syn, T0, &mut a));
    assert!(merged.read_baseline(syn, T0, &mut b));
    assert_eq!(a[7], b[7]);
    assert_eq!(local.totals(), merged.totals());
}

#[test]
fn a_frame_read_sums_shards_in_place_and_starts_again_when_overlapped() {
    let c = Counters::new((0..9).collect(), exp(10 * S));
    let (mut a, mut b, mut idle) = (c.writer(), c.writer(), c.writer());
    add(&mut a, T0, &syn_to(0x0102, 80));
    add(&mut b, T0, &syn_to(0x0102, 443));
    add(&mut b, T0, &syn_to(0x0304, 443));
    add(&mut idle, T0, &syn_to(0x0506, 22));
    let syn = by_name("syn").unwrap();
    // 10 s later: a half-life on, each packet weighs a half.
    let at = T0 + 10 * S;
    let mut out = vec![7.0; CELLS];
    assert!(c.read_map(syn, at, &mut out).is_some());
    let close = |x: f32, want: f32| (x - want).abs() < 1e-4;
    assert!(close(out[0x0102], 1.0) && close(out[0x0304], 0.5) && close(out[0x0506], 0.5));
    assert_eq!(out.iter().filter(|&&v| v != 0.0).count(), 3, "stale values left");
    // A pass that a rescale overlapped (here: the first pass, once, which
    // also read at a torn scale) must not leave what it wrote: the whole sum
    // is read again. Three shards: a pass of two, then one alone.
    let overlaps = std::cell::Cell::new(1);
    let mut again = vec![0.0; CELLS];
    c.sum_decayed(&mut again, |shard| {
        let mut open = shard.open_sums(syn, false, at)?;
        if overlaps.replace(0) == 1 {
            // As a rescale during the read would: the scale torn, the sequence moved on.
            open.factor *= 100.0;
            open.before = open.before.wrapping_add(2);
        }
        Some(open)
    });
    assert_eq!(overlaps.get(), 0);
    assert_eq!(again, out);
    // A map no shard counts reads as zeros.
    let only_len = Counters::new(vec![by_name("len").unwrap()], exp(10 * S));
    let mut w = only_len.writer();
    add(&mut w, T0, &syn_to(0x0102, 80));
    assert!(only_len.read_map(syn, at, &mut out).is_none());
    assert!(out.iter().all(|&v| v == 0.0));
}

#[test]
fn a_frame_read_finds_each_maps_peak_of_the_summed_cells() {
    let c = Counters::new((0..9).collect(), exp(10 * S));
    // Three shards: the first two are read in one pass, the third alone in a
    // second, and the highest cell is only the highest once the third is in.
    let (mut a, mut b, mut third) = (c.writer(), c.writer(), c.writer());
    for i in 0..200u16 {
        add(&mut a, T0, &syn_to(i.wrapping_mul(331), 80));
    }
    for _ in 0..100 {
        add(&mut b, T0, &syn_to(0x0304, 443));
    }
    for _ in 0..150 {
        add(&mut third, T0, &syn_to(0x0102, 22));
    }
    add(&mut a, T0, &syn_to(0x0102, 80));
    let syn = by_name("syn").unwrap();
    let mut out = vec![0.0; CELLS];
    let read = c.read_map(syn, T0, &mut out).unwrap();
    assert_eq!(read, peak(&out));
    assert!((read - 151.0).abs() < 1e-3, "{read}");
    // The frame carries the peaks the paper scale uses, equal to a second pass.
    let mut frame = FrameReader::new(
        c.clone(),
        vec![syn, by_name("len").unwrap(), by_name("icmp").unwrap()],
    );
    let f = frame.read(None);
    for (values, &p) in f.values.iter().zip(&f.peaks) {
        assert_eq!(p, peak(values));
    }
    assert_eq!(f.peaks[2], 0.0, "a map with no packets");
}
