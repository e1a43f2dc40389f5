//! The status line's facts, worded from a session: the source, rates,
//! drops, the half-life, the packet clock and the remote feeders. The
//! renderer lays the words out; it never looks at the model itself.

use std::sync::atomic::Ordering::Relaxed;

use crate::counting::{DecayMode, MapFrame};
use crate::render::{StatusInfo, format_rate, group_thousands};
use crate::session::Session;
use crate::source::StatusSum;
use crate::source::peers::{PeerKind, PeerSummary};

/// The status line for `frame` of `session`, drawn at `frames_per_sec`.
pub fn status_info(session: &Session, frame: &MapFrame, frames_per_sec: f64) -> StatusInfo {
    let s = StatusSum::of(session.statuses());
    let counters = session.counters();
    let peers = &s.peers;
    StatusInfo {
        source: match &s.error {
            Some(e) => format!("{} ({e})", s.description),
            None => s.description.clone(),
        },
        demo: s.demo,
        packets_per_sec: frame.packets_per_sec,
        kernel_drops: s.kernel_drops,
        interface_drops: s.interface_drops,
        drop_percent: s.drop_percent(),
        half_life: match counters.decay().mode {
            DecayMode::None => "none (totals)".to_string(),
            DecayMode::Step => format!("{} (step)", counters.half_life()),
            DecayMode::Exponential => counters.half_life().to_string(),
        },
        packet_clock: frame
            .at_ns
            .map(format_packet_time)
            .unwrap_or_else(|| "no packets yet".into()),
        frames_per_sec,
        // Remote feeders: stalled while none of them is live.
        stalled: s.stalled || (!peers.is_empty() && !peers.iter().any(|p| p.live)),
        shed: s.shed,
        peers: peers_text(peers),
        ended_secs: ended_secs(session),
    }
}

/// Seconds since every source finished reading its input (a replay without
/// `--loop` that has ended), or `None` while any is still going.
fn ended_secs(session: &Session) -> Option<f64> {
    let statuses = session.statuses();
    if statuses.is_empty() || !statuses.iter().all(|s| s.finished.load(Relaxed)) {
        return None;
    }
    let last = statuses.iter().map(|s| s.finished_at_ns.load(Relaxed)).max()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    Some(now.saturating_sub(last) as f64 / 1e9)
}

/// Packet time as UTC `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_packet_time(ns: u64) -> String {
    let t = crate::utc::Utc::from_unix_secs(ns / 1_000_000_000);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Peers listed by name when there are few of a kind, else counted.
const PEERS_NAMED: usize = 3;

/// The status line's part about remote feeders: per kind, each peer's name,
/// rate, drops and lag (or STALLED), or a count when there are many.
fn peers_text(peers: &[PeerSummary]) -> String {
    let mut out = String::new();
    for kind in [PeerKind::Sensor, PeerKind::SflowAgent, PeerKind::NetflowExporter] {
        let of_kind: Vec<&PeerSummary> = peers.iter().filter(|p| p.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        out.push_str("   ");
        out.push_str(kind.name());
        out.push_str(": ");
        if of_kind.len() <= PEERS_NAMED {
            let parts: Vec<String> = of_kind.iter().map(|p| peer_text(p)).collect();
            out.push_str(&parts.join(", "));
        } else {
            let live = of_kind.iter().filter(|p| p.live).count();
            let rate: f64 = of_kind.iter().map(|p| p.packets_per_sec).sum();
            let drops: u64 = of_kind.iter().map(|p| p.drops).sum();
            out.push_str(&format!(
                "{} ({} stalled) {} pkt/s, {} drops",
                of_kind.len(),
                of_kind.len() - live,
                format_rate(rate),
                group_thousands(drops)
            ));
        }
    }
    out
}

fn peer_text(p: &PeerSummary) -> String {
    if !p.live {
        return format!("{} STALLED", p.name);
    }
    let mut t = format!("{} {} pkt/s", p.name, format_rate(p.packets_per_sec));
    if p.drops > 0 {
        t.push_str(&format!(" {} drops", group_thousands(p.drops)));
    }
    if p.lag_ms > 0 {
        t.push_str(&format!(" lag {} ms", p.lag_ms));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::demo::DemoConfig;

    #[test]
    fn status_line_lists_few_peers_by_name_and_counts_many() {
        let peer = |name: &str, live: bool| PeerSummary {
            kind: PeerKind::Sensor,
            name: name.into(),
            packets_per_sec: 1500.0,
            packets: 9,
            drops: 4,
            lag_ms: 40,
            malformed: 0,
            live,
        };
        let t = peers_text(&[peer("edge-1", true), peer("edge-2", false)]);
        for part in ["sensor: edge-1 1,500 pkt/s 4 drops lag 40 ms", "edge-2 STALLED"] {
            assert!(t.contains(part), "{part} missing from {t}");
        }
        // NetFlow exporters are listed after sensors and sFlow agents, as their own kind.
        let exporter = PeerSummary {
            kind: PeerKind::NetflowExporter,
            name: "192.0.2.1#7".into(),
            drops: 0,
            lag_ms: 0,
            ..peer("", true)
        };
        let t = peers_text(&[exporter, peer("edge-1", true)]);
        assert!(
            t.ends_with("   netflow: 192.0.2.1#7 1,500 pkt/s") && t.starts_with("   sensor: edge-1"),
            "{t}"
        );
        let many: Vec<PeerSummary> = (0..5).map(|i| peer(&format!("s{i}"), i != 0)).collect();
        let t = peers_text(&many);
        assert!(t.contains("sensor: 5 (1 stalled) 7,500 pkt/s, 20 drops"), "{t}");
    }

    #[test]
    fn packet_time_is_utc() {
        assert_eq!(
            format_packet_time(DemoConfig::FIXED_START_NS),
            "2021-06-01 00:00:00 UTC"
        );
        assert_eq!(format_packet_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_packet_time(951_782_400 * 1_000_000_000 + 3_723_000_000_000),
            "2000-02-29 01:02:03 UTC"
        );
    }
}
