//! One scan event: where on which map, since when, how many packets, and who
//! sent them; and the words, JSON and CSV a person or a SIEM reads.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::top::TopN;
use crate::maps::{Key, MAPS, MapId};
use crate::utc::Utc;

/// The shape of an event on its map's 256 x 256 grid (row order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// One row: a /24 swept, one port across many hosts, a port range.
    Row,
    /// One column: one host number across many /24s, one host on many ports.
    Column,
    /// Several adjacent rows or columns together: a wider sweep.
    Block,
}

impl EventKind {
    /// The name in JSON, CSV and metrics.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Row => "row",
            EventKind::Column => "column",
            EventKind::Block => "block",
        }
    }

    /// Every kind, in the order of their metrics.
    pub const ALL: [EventKind; 3] = [EventKind::Row, EventKind::Column, EventKind::Block];
}

/// Whether an event grew from hot rows or hot columns: what a later
/// detection must line up with to continue it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Hot rows (rows and blocks of rows).
    Rows,
    /// Hot columns.
    Columns,
}

/// Sources, ports and destinations kept per event.
pub const TALLY: usize = 32;
/// Sources an event reports.
pub const REPORTED_SOURCES: usize = 5;

/// One detected structure, live or ended.
#[derive(Clone, Debug)]
pub struct Event {
    /// Unique within the run, in order of start.
    pub id: u64,
    /// The map it was found on.
    pub map: MapId,
    /// Its shape.
    pub kind: EventKind,
    /// How it was found.
    pub axis: Axis,
    /// First and last row it covers (row order).
    pub rows: (u8, u8),
    /// First and last column it covers.
    pub columns: (u8, u8),
    /// Packet time of its first packet seen (ns since the Unix epoch).
    pub start: u64,
    /// Packet time of its latest packet seen.
    pub last_seen: u64,
    /// End of the latest tick it was found in.
    pub found_until: u64,
    /// When it fell back (the end of the last tick it was found in); `None` while live.
    pub end: Option<u64>,
    /// Packets attributed to it (sampled weights: see the README).
    pub packets: u64,
    /// Highest rate over one tick, packets per second.
    pub peak_pps: f64,
    /// Rate over the latest tick.
    pub pps: f64,
    /// Who sent its packets.
    pub sources: TopN<IpAddr>,
    /// Destination ports its packets went to.
    pub ports: TopN<u16>,
    /// Destination addresses its packets went to.
    pub destinations: TopN<IpAddr>,
    /// Ticks in a row it was not found.
    pub(super) misses: u32,
    /// Its packets per tick, smoothed over about two ticks, and the most of that.
    pub(super) smooth: f64,
    pub(super) peak_smooth: f64,
}

impl Event {
    /// A new event found at packet time `start` (its tallies empty).
    pub(crate) fn new(
        id: u64,
        map: MapId,
        axis: Axis,
        rows: (u8, u8),
        columns: (u8, u8),
        start: u64,
    ) -> Event {
        let mut e = Event {
            id,
            map,
            kind: EventKind::Row,
            axis,
            rows,
            columns,
            start,
            last_seen: start,
            found_until: start,
            end: None,
            packets: 0,
            peak_pps: 0.0,
            pps: 0.0,
            sources: TopN::new(TALLY),
            ports: TopN::new(TALLY),
            destinations: TopN::new(TALLY),
            misses: 0,
            smooth: 0.0,
            peak_smooth: 0.0,
        };
        e.reshape();
        e
    }

    /// Sets the kind from the extent and the axis.
    pub(super) fn reshape(&mut self) {
        self.kind = match self.axis {
            Axis::Rows if self.rows.0 == self.rows.1 => EventKind::Row,
            Axis::Columns if self.columns.0 == self.columns.1 => EventKind::Column,
            _ => EventKind::Block,
        };
    }

    /// Whether the cell `key` of its map lies inside it.
    #[inline]
    pub fn covers(&self, key: u16) -> bool {
        let (row, col) = ((key >> 8) as u8, key as u8);
        (self.rows.0..=self.rows.1).contains(&row) && (self.columns.0..=self.columns.1).contains(&col)
    }

    /// The place in words, in the map's own terms (a /24, ports, a host).
    pub fn place(&self) -> String {
        let (r0, r1) = self.rows;
        let (c0, c1) = self.columns;
        let full = c0 == 0 && c1 == 255;
        match MAPS[self.map].key {
            Key::DstAddrLow16 => {
                let net = self.network_words();
                match self.kind {
                    EventKind::Row if full => format!("{net}.{r0}.0/24 swept"),
                    EventKind::Row => format!("{net}.{r0}.{c0}-{c1} swept"),
                    EventKind::Column => {
                        format!(
                            "host .{c0} probed in {} /24s ({net}.{r0}-{r1}.{c0})",
                            u16::from(r1 - r0) + 1
                        )
                    }
                    EventKind::Block => match aligned_prefix(r0, r1) {
                        Some(len) if full => format!("{net}.{r0}.0/{len} swept"),
                        _ => format!("{net}.{r0}.{c0} - {net}.{r1}.{c1} swept"),
                    },
                }
            }
            Key::DstPort => {
                let first = u32::from(r0) << 8 | u32::from(c0);
                let last = u32::from(r1) << 8 | u32::from(c1);
                match self.kind {
                    EventKind::Column => format!("ports {first}-{last} ending {c0} (mod 256) scanned"),
                    _ => format!("ports {first}-{last} scanned"),
                }
            }
            Key::PortLowByAddrLow => {
                let port = self.top_port_matching(|p| p as u8 == r0);
                match self.kind {
                    EventKind::Row => match port {
                        Some(p) => format!("port {p} across hosts .{c0}-.{c1}"),
                        None => format!("ports with low byte {r0} across hosts .{c0}-.{c1}"),
                    },
                    EventKind::Column => format!("host {} probed on many ports", self.host_words(c0)),
                    EventKind::Block => format!("ports (low byte {r0}-{r1}) across hosts .{c0}-.{c1}"),
                }
            }
            Key::Length => {
                let first = u32::from(r0) << 8 | u32::from(c0);
                let last = u32::from(r1) << 8 | u32::from(c1);
                format!("packets of {first}-{last} bytes")
            }
        }
    }

    /// The first two octets of the destinations (the most seen), or `x.x`
    /// when none is known (sensors send no addresses).
    fn network_words(&self) -> String {
        match self.destinations.top(1).first() {
            Some((IpAddr::V4(a), _)) => {
                let o = a.octets();
                format!("{}.{}", o[0], o[1])
            }
            _ => "x.x".to_string(),
        }
    }

    /// The most seen destination whose last octet is `low`, or `x.x.x.low`.
    fn host_words(&self, low: u8) -> String {
        self.destinations
            .top(TALLY)
            .into_iter()
            .find(|(a, _)| match a {
                IpAddr::V4(v) => v.octets()[3] == low,
                IpAddr::V6(v) => v.octets()[15] == low,
            })
            .map_or_else(|| format!("x.x.x.{low}"), |(a, _)| a.to_string())
    }

    fn top_port_matching(&self, want: impl Fn(u16) -> bool) -> Option<u16> {
        self.ports
            .top(TALLY)
            .into_iter()
            .map(|(p, _)| p)
            .find(|&p| want(p))
    }

    /// The one line the list and the log show:
    /// `10.20.117.0/24 swept - TCP SYN - 1.2k pkt/s - 198.51.100.77 - 40 s`.
    pub fn label(&self, now: u64) -> String {
        let title = MAPS[self.map].title;
        let what = title.split(" - ").next().unwrap_or(title);
        self.words(Some(what), now)
    }

    /// The label on its own map, whose title already names the packets:
    /// `10.20.117.0/24 swept - 1.2k pkt/s - 198.51.100.77 - 40 s`.
    pub fn short_label(&self, now: u64) -> String {
        self.words(None, now)
    }

    fn words(&self, what: Option<&str>, now: u64) -> String {
        let rate = if self.end.is_some() {
            self.peak_pps
        } else {
            self.pps
        };
        let mut s = self.place();
        if let Some(what) = what {
            let _ = write!(s, " - {what}");
        }
        let _ = write!(s, " - {} pkt/s - ", human(rate));
        let top = self.sources.top(2);
        match top.as_slice() {
            [] => s.push_str("source unknown"),
            [(a, _)] => {
                let _ = write!(s, "{a}");
            }
            [(a, _), ..] => {
                let more = self.sources_count().saturating_sub(1);
                let _ = write!(s, "{a} +{more}");
            }
        }
        let lasted = self.end.unwrap_or(now).saturating_sub(self.start);
        let _ = write!(s, " - {}", crate::duration::format_short(lasted));
        s
    }

    /// Distinct sources kept (at most [`TALLY`]).
    fn sources_count(&self) -> usize {
        self.sources.top(TALLY).len()
    }

    /// The event as the `events` command's JSON object.
    pub fn to_json(&self, now: u64) -> serde_json::Value {
        let single = |a: u8, b: u8| (a == b).then_some(a);
        let (row, column) = match self.kind {
            EventKind::Row => (single(self.rows.0, self.rows.1), None),
            EventKind::Column => (None, single(self.columns.0, self.columns.1)),
            EventKind::Block => (None, None),
        };
        let sources: Vec<_> = self
            .sources
            .top(REPORTED_SOURCES)
            .into_iter()
            .map(|(a, n)| serde_json::json!({"source": a.to_string(), "packets": n}))
            .collect();
        let ports: Vec<_> = self
            .ports
            .top(REPORTED_SOURCES)
            .into_iter()
            .map(|(p, n)| serde_json::json!({"port": p, "packets": n}))
            .collect();
        let destinations: Vec<_> = self
            .destinations
            .top(REPORTED_SOURCES)
            .into_iter()
            .map(|(a, n)| serde_json::json!({"destination": a.to_string(), "packets": n}))
            .collect();
        serde_json::json!({
            "id": self.id,
            "map": MAPS[self.map].name,
            "kind": self.kind.name(),
            "row": row,
            "column": column,
            "rows": [self.rows.0, self.rows.1],
            "columns": [self.columns.0, self.columns.1],
            "start": rfc3339(self.start),
            "end": self.end.map(rfc3339),
            "last_packet": rfc3339(self.last_seen),
            "packets": self.packets,
            "peak_pps": (self.peak_pps * 10.0).round() / 10.0,
            "label": self.label(now),
            "top_sources": sources,
            "top_ports": ports,
            "top_destinations": destinations,
        })
    }

    /// The CSV header for [`Event::to_csv`].
    pub const CSV_HEADER: &'static str = "id,map,kind,row,column,first_row,last_row,first_column,last_column,start,end,packets,peak_pps,top_source,top_source_packets,label";

    /// One CSV line (no newline); the label is quoted.
    pub fn to_csv(&self, now: u64) -> String {
        let json = self.to_json(now);
        let opt = |v: &serde_json::Value| v.as_u64().map_or(String::new(), |n| n.to_string());
        let (src, n) = self
            .sources
            .top(1)
            .first()
            .map_or((String::new(), String::new()), |(a, n)| {
                (a.to_string(), n.to_string())
            });
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{:.1},{},{},\"{}\"",
            self.id,
            MAPS[self.map].name,
            self.kind.name(),
            opt(&json["row"]),
            opt(&json["column"]),
            self.rows.0,
            self.rows.1,
            self.columns.0,
            self.columns.1,
            rfc3339(self.start),
            self.end.map(rfc3339).unwrap_or_default(),
            self.packets,
            self.peak_pps,
            src,
            n,
            self.label(now).replace('"', "'"),
        )
    }
}

/// `Some(prefix length)` when rows `r0..=r1` are one aligned block of /24s
/// (a /23, /22 ... /16).
fn aligned_prefix(r0: u8, r1: u8) -> Option<u8> {
    let n = u16::from(r1) - u16::from(r0) + 1;
    (n.is_power_of_two() && u16::from(r0) % n == 0).then(|| 24 - n.trailing_zeros() as u8)
}

/// A rate in few characters: `850`, `1.2k`, `35k`, `1.5M`.
pub fn human(rate: f64) -> String {
    match rate {
        r if r >= 1e6 => format!("{:.1}M", r / 1e6),
        r if r >= 1e4 => format!("{:.0}k", r / 1e3),
        r if r >= 1e3 => format!("{:.1}k", r / 1e3),
        r if r >= 10.0 => format!("{r:.0}"),
        r => format!("{r:.1}"),
    }
}

/// Packet time as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ns: u64) -> String {
    let t = Utc::from_unix_secs(ns / 1_000_000_000);
    format!("{}.{:03}Z", t.rfc3339_seconds(), (ns / 1_000_000) % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn syn() -> MapId {
        MAPS.iter().position(|m| m.name == "syn").unwrap_or(0)
    }

    fn event(map: MapId, axis: Axis, rows: (u8, u8), columns: (u8, u8)) -> Event {
        let mut e = Event::new(1, map, axis, rows, columns, 1_700_000_000_000_000_000);
        e.destinations
            .add(IpAddr::V4(Ipv4Addr::new(10, 20, rows.0, columns.0)), 5);
        e.sources.add(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 77)), 900);
        e.pps = 1234.0;
        e
    }

    #[test]
    fn a_row_on_an_address_map_is_a_24_with_its_source_rate_and_age() {
        let e = event(syn(), Axis::Rows, (117, 117), (0, 255));
        let label = e.label(e.start + 40_000_000_000);
        assert_eq!(
            label,
            "10.20.117.0/24 swept - TCP SYN - 1.2k pkt/s - 198.51.100.77 - 40 s"
        );
        let j = e.to_json(e.start);
        assert_eq!(j["kind"], "row");
        assert_eq!(j["row"], 117);
        assert!(j["column"].is_null());
        assert_eq!(j["start"], "2023-11-14T22:13:20.000Z");
        assert_eq!(j["top_sources"][0]["source"], "198.51.100.77");
    }

    #[test]
    fn blocks_and_columns_say_what_they_cover() {
        let b = event(syn(), Axis::Rows, (0, 63), (0, 255));
        assert!(b.place().starts_with("10.20.0.0/18 swept"), "{}", b.place());
        let c = event(syn(), Axis::Columns, (3, 90), (7, 7));
        assert_eq!(c.kind, EventKind::Column);
        assert!(c.place().contains("host .7 probed in 88 /24s"), "{}", c.place());
        let port = MAPS.iter().position(|m| m.name == "port").unwrap_or(0);
        let p = event(port, Axis::Rows, (31, 39), (0, 255));
        assert_eq!(p.place(), "ports 7936-10239 scanned");
        assert!(e_csv_has_fields(&p));
    }

    fn e_csv_has_fields(e: &Event) -> bool {
        let line = e.to_csv(e.start);
        line.split(',').count() >= Event::CSV_HEADER.split(',').count()
    }

    #[test]
    fn rates_read_short() {
        assert_eq!(human(850.0), "850");
        assert_eq!(human(1234.0), "1.2k");
        assert_eq!(human(35_000.0), "35k");
        assert_eq!(human(1_500_000.0), "1.5M");
        assert_eq!(human(2.25), "2.2");
    }
}
