//! The map catalogue: every map scanwall can draw, declared once as data.
//!
//! A map is a 65,536-cell histogram keyed by a 16-bit value taken from packet
//! headers, restricted to packets that pass a filter. The names are part of the
//! interface (CLI, CSV, UI), so they live here and nowhere else. Rules follow
//! `COUNTING.md` ("Maps" table); the paper's figure numbers are kept for reference.

use crate::known::LocalPrefix;
use crate::parse::PacketFacts;

/// Number of cells in every map: one per 16-bit key.
pub const CELLS: usize = 65_536;
/// Side of the square picture of a map (row = key >> 8, column = key & 255).
pub const SIDE: usize = 256;

/// Which packets a map counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every inbound IP packet that passed the header checks.
    AnyIp,
    /// IP protocol 1, or IPv6 next header 58 after extension headers.
    Icmp,
    /// IP protocol 17.
    Udp,
    /// TCP with the L4 header present and, of FIN SYN RST PSH ACK URG, only SYN set.
    SynOnly,
    /// TCP or UDP with the L4 header present.
    TcpOrUdpPorts,
}

/// Which 16-bit header value is the map's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Destination address, low 16 bits (IPv4: 3rd octet << 8 | 4th octet).
    DstAddrLow16 = 0,
    /// Destination port.
    DstPort = 1,
    /// (destination port & 255) << 8 | destination address low byte.
    PortLowByAddrLow = 2,
    /// IP datagram length, at most 65535.
    Length = 3,
}

/// A stretch of keys marked on a map's row axis, with its label: the local
/// /24s, the well-known ports, a notable packet length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxisMark {
    /// First key marked.
    pub first: u16,
    /// Last key marked (equal to `first` for one cell, which is then also
    /// marked on the column axis).
    pub last: u16,
    /// What the row label says there.
    pub label: String,
}

impl Key {
    /// How a cell of a map with this key is named to a person (hover,
    /// labels), knowing nothing of the local network.
    pub fn describe(self, key: u16) -> String {
        self.describe_in(key, &LocalPrefix::default())
    }

    /// How a cell is named, with what is known of the local network: a real
    /// address (`123.56.104.37`) where `--local` says the first octets.
    pub fn describe_in(self, key: u16, local: &LocalPrefix) -> String {
        // Both halves of a u16: the casts are exact.
        let (hi, lo) = ((key >> 8) as u8, (key & 0xff) as u8);
        match self {
            Key::DstAddrLow16 => local.address(hi, lo),
            // The service name is the hover's to add
            // (`crate::known::service_name`).
            Key::DstPort => format!("port {key}"),
            Key::PortLowByAddrLow => {
                let next = u32::from(hi) + 256;
                format!(
                    "ports {hi}, {next}, {}, ... (low byte {hi}) to hosts ending .{lo}",
                    next + 256
                )
            }
            Key::Length => format!("length {key}"),
        }
    }

    /// What a pixel is and how the axes run, in row order: the first
    /// sentence of a presenter caption.
    pub fn axes_sentence(self) -> &'static str {
        match self {
            Key::DstAddrLow16 => "Each pixel is one destination address (row: 3rd octet, column: 4th octet).",
            Key::DstPort => "Each pixel is one destination port (row: port / 256, column: port % 256).",
            Key::Length => "Each pixel is one packet length (row: length / 256, column: length % 256).",
            Key::PortLowByAddrLow => {
                "Each pixel is one port and host (row: destination port low byte, column: last \
                 octet of the destination address)."
            }
        }
    }

    /// What a row of the picture spans, for axis labels: `10.20.96.x` (or
    /// `x.x.96.x`) for addresses, the first port or length for ports and
    /// lengths, the port low byte for port-by-host maps.
    pub fn row_label(self, row: u16, local: &LocalPrefix) -> String {
        match self {
            // Rows are 0..=255: the cast is exact.
            Key::DstAddrLow16 => local.row(row.min(255) as u8),
            Key::DstPort | Key::Length => format!("{}", u32::from(row) << 8),
            Key::PortLowByAddrLow => format!("low byte {row}"),
        }
    }

    /// What is marked on the row axis in row order: the local networks
    /// narrower than a /16, the well-known ports, the notable lengths (see
    /// [`crate::known`]). Most important first.
    pub fn marks(self, local: &LocalPrefix) -> Vec<AxisMark> {
        match self {
            Key::DstAddrLow16 => local
                .rows
                .iter()
                .take(LocalPrefix::MAX_ROW_MARKS)
                .map(|&(first, last)| {
                    let rows = u32::from(last - first) + 1;
                    let label = if rows == 1 {
                        local.row(first)
                    } else {
                        // rows is a power of two up to 128: 24 - log2(rows).
                        local.block(first, (24 - rows.trailing_zeros()) as u8)
                    };
                    AxisMark {
                        first: u16::from(first) << 8,
                        last: u16::from(last) << 8 | 0xff,
                        label,
                    }
                })
                .collect(),
            Key::DstPort => vec![AxisMark {
                first: 0,
                last: crate::known::WELL_KNOWN_LAST,
                label: format!("0-{}", crate::known::WELL_KNOWN_LAST),
            }],
            Key::Length => crate::known::COMMON_LENGTHS
                .iter()
                .map(|&(len, label)| AxisMark {
                    first: len,
                    last: len,
                    label: label.to_string(),
                })
                .collect(),
            Key::PortLowByAddrLow => Vec::new(),
        }
    }
}

/// One map: its fixed name, what it counts and how it is explained on the wall.
#[derive(Clone, Copy, Debug)]
pub struct MapDef {
    /// Fixed identifier used on the command line, in CSV/JSON and in the UI.
    pub name: &'static str,
    /// Tile title on the wall.
    pub title: &'static str,
    /// Plain-language caption for presenter mode: what a pixel is, how to read lines.
    /// Says what a line or a band means in row order; never names a colour
    /// or the axes, which depend on the view (`render::caption_text` adds them).
    pub caption: &'static str,
    /// The same along the Hilbert curve (address maps: a /24 is a square
    /// there, not a row); `None` where the map never follows the curve.
    pub caption_curve: Option<&'static str>,
    /// The paper's figure number, so the paper's pictures can be matched.
    pub paper_figure: u8,
    /// Which packets are counted.
    pub filter: Filter,
    /// Which value is the key.
    pub key: Key,
}

impl Filter {
    /// The [`PacketFacts`] flags a packet must all have to be counted: the
    /// counting loop tests this mask without a branch per map.
    #[inline(always)]
    pub const fn required_flags(self) -> u8 {
        match self {
            Filter::AnyIp => 0,
            Filter::Icmp => PacketFacts::ICMP,
            Filter::Udp => PacketFacts::UDP,
            Filter::SynOnly => PacketFacts::SYN_ONLY,
            Filter::TcpOrUdpPorts => PacketFacts::L4_PRESENT,
        }
    }
}

impl Key {
    /// Position of this key in [`key_values`].
    #[inline(always)]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Every key's value for one packet, indexed by [`Key::index`]: computed once
/// per packet and shared by all maps.
#[inline(always)]
pub fn key_values(facts: &PacketFacts) -> [u16; 4] {
    [
        facts.dst_low16,
        facts.port,
        ((facts.port & 0xff) << 8) | (facts.dst_low16 & 0xff),
        facts.length,
    ]
}

impl MapDef {
    /// The cell this packet lands in on this map, or `None` when the map does not count it.
    #[inline(always)]
    pub fn cell(&self, facts: &PacketFacts) -> Option<u16> {
        let need = self.filter.required_flags();
        (facts.flags & need == need).then(|| key_values(facts)[self.key.index()])
    }
}

/// Index of a map in [`MAPS`].
pub type MapId = usize;

/// Every map, in the paper's figure order (5 to 13).
pub const MAPS: [MapDef; 9] = [
    MapDef {
        name: "icmp",
        title: "ICMP - destination address",
        caption: "A horizontal line is a ping sweep across one /24; a vertical line is one \
                  host number probed in many /24s.",
        caption_curve: Some(
            "A filled square is a ping sweep across one /24; the same spot in many squares \
             is one host number probed in many /24s.",
        ),
        paper_figure: 5,
        filter: Filter::Icmp,
        key: Key::DstAddrLow16,
    },
    MapDef {
        name: "all",
        title: "All packets - destination address",
        caption: "Scanners light up whole rows.",
        caption_curve: Some("Scanners light up whole squares, one /24 each."),
        paper_figure: 6,
        filter: Filter::AnyIp,
        key: Key::DstAddrLow16,
    },
    MapDef {
        name: "syn",
        title: "TCP SYN - destination address",
        caption: "Only connection requests (TCP SYN) count. A horizontal line is a /24 being \
                  swept; noise everywhere is Internet-wide scanning.",
        caption_curve: Some(
            "Only connection requests (TCP SYN) count. A filled square is a /24 being swept; \
             noise everywhere is Internet-wide scanning.",
        ),
        paper_figure: 7,
        filter: Filter::SynOnly,
        key: Key::DstAddrLow16,
    },
    MapDef {
        name: "udp",
        title: "UDP - destination address",
        caption: "Only UDP counts. Short bars are UDP sweeps of part of a /24.",
        caption_curve: Some("Only UDP counts. Partly filled squares are UDP sweeps of part of a /24."),
        paper_figure: 8,
        filter: Filter::Udp,
        key: Key::DstAddrLow16,
    },
    MapDef {
        name: "port",
        title: "TCP/UDP - destination port",
        caption: "A horizontal line is a port range being scanned; a busy bottom quarter is \
                  replies to clients' ephemeral ports.",
        caption_curve: None,
        paper_figure: 9,
        filter: Filter::TcpOrUdpPorts,
        key: Key::DstPort,
    },
    MapDef {
        name: "synport",
        title: "TCP SYN - destination port",
        caption: "Only connection requests count. Replies are gone, so what remains is \
                  scanning: look for bands of ports.",
        caption_curve: None,
        paper_figure: 10,
        filter: Filter::SynOnly,
        key: Key::DstPort,
    },
    MapDef {
        name: "addrport",
        title: "TCP/UDP - port low byte x address 4th octet",
        caption: "A horizontal line is one port probed on many hosts; a vertical line is one \
                  host busy on many ports.",
        caption_curve: None,
        paper_figure: 11,
        filter: Filter::TcpOrUdpPorts,
        key: Key::PortLowByAddrLow,
    },
    MapDef {
        name: "synaddrport",
        title: "TCP SYN - port low byte x address 4th octet",
        caption: "Connection requests only: a horizontal line is someone looking for one \
                  service across many hosts.",
        caption_curve: None,
        paper_figure: 12,
        filter: Filter::SynOnly,
        key: Key::PortLowByAddrLow,
    },
    MapDef {
        name: "len",
        title: "All packets - IP length",
        caption: "Lengths above 1500 come from segmentation offload merging TCP segments; \
                  they cluster at multiples of 8.",
        caption_curve: None,
        paper_figure: 13,
        filter: Filter::AnyIp,
        key: Key::Length,
    },
];

/// The six maps shown when none are chosen, as in the issue and the paper's wall.
pub const DEFAULT_SHOWN: [&str; 6] = ["icmp", "all", "syn", "udp", "port", "len"];

/// Looks a map up by its fixed name.
pub fn by_name(name: &str) -> Option<MapId> {
    MAPS.iter().position(|m| m.name == name)
}

/// Parses a comma-separated list of map names (as given to `--maps`).
///
/// Keeps the order given, drops repeats, and names every valid map in the error.
pub fn parse_list(list: &str) -> Result<Vec<MapId>, String> {
    let mut ids = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let id = by_name(name).ok_or_else(|| {
            let all: Vec<&str> = MAPS.iter().map(|m| m.name).collect();
            format!("unknown map `{name}`; the maps are: {}", all.join(", "))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err("no map named; the list must name at least one map".into());
    }
    Ok(ids)
}

/// The default shown maps as ids.
pub fn default_shown() -> Vec<MapId> {
    DEFAULT_SHOWN.iter().filter_map(|n| by_name(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_in_paper_order() {
        let names: Vec<&str> = MAPS.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "icmp",
                "all",
                "syn",
                "udp",
                "port",
                "synport",
                "addrport",
                "synaddrport",
                "len"
            ]
        );
        for (i, m) in MAPS.iter().enumerate() {
            assert_eq!(usize::from(m.paper_figure), 5 + i);
        }
    }

    #[test]
    fn parse_list_keeps_order_and_rejects_unknown() {
        assert_eq!(parse_list("len,icmp,len"), Ok(vec![8, 0]));
        let err = parse_list("icmp,bogus").unwrap_err();
        assert!(err.contains("bogus") && err.contains("synaddrport"), "{err}");
        assert!(parse_list(" , ").is_err());
    }

    #[test]
    fn default_shown_is_six_known_maps() {
        assert_eq!(default_shown(), vec![0, 1, 2, 3, 4, 8]);
    }

    #[test]
    fn keys_describe_cells() {
        assert_eq!(Key::DstAddrLow16.describe(37 * 256 + 200), "x.x.37.200");
        assert_eq!(Key::DstPort.describe(8080), "port 8080");
        assert_eq!(Key::Length.describe(1514), "length 1514");
        assert_eq!(Key::DstPort.row_label(32, &LocalPrefix::default()), "8192");
    }

    /// Issue #21: labels ignored what is known (the local prefix, services,
    /// common lengths) and said `port&255=32`.
    #[test]
    fn labels_use_what_is_known() {
        let local = LocalPrefix::from_v4(&[([123, 56, 104, 0], 24)]);
        assert_eq!(
            Key::DstAddrLow16.describe_in(104 * 256 + 37, &local),
            "123.56.104.37"
        );
        assert_eq!(Key::DstAddrLow16.row_label(104, &local), "123.56.104.x");
        let marks = Key::DstAddrLow16.marks(&local);
        assert_eq!(marks.len(), 1);
        assert_eq!((marks[0].first, marks[0].last), (104 * 256, 104 * 256 + 255));
        assert_eq!(marks[0].label, "123.56.104.x");
        let wide = LocalPrefix::from_v4(&[([10, 20, 96, 0], 20)]);
        assert_eq!(Key::DstAddrLow16.marks(&wide)[0].label, "10.20.96.0/20");
        let slash16 = LocalPrefix::from_v4(&[([10, 20, 0, 0], 16)]);
        assert_eq!(Key::DstAddrLow16.row_label(117, &slash16), "10.20.117.x");
        assert!(Key::DstAddrLow16.marks(&slash16).is_empty());
        assert_eq!(crate::known::service_name(443), Some("https"));
        assert_eq!(Key::DstPort.marks(&local)[0].last, 1023);
        let lengths = Key::Length.marks(&local);
        assert_eq!((lengths[0].first, lengths[0].last), (1500, 1500));
        let row = Key::PortLowByAddrLow.row_label(32, &local);
        assert!(!row.contains('&') && row.contains("low byte 32"), "{row}");
        let cell = Key::PortLowByAddrLow.describe(32 * 256 + 7);
        assert!(
            cell.contains("ports 32, 288, 544") && cell.contains(".7"),
            "{cell}"
        );
    }
}
