//! What is known about cells beyond their 16-bit key, declared once as data:
//! the services behind common ports, the packet lengths worth marking, and
//! the local network the address maps show (`--local`).
//!
//! Axis labels and marks ([`crate::maps::Key::row_label`],
//! [`crate::maps::Key::marks`]) and the hover readout read these; nothing
//! else spells out a port's service or a notable length.

/// Ports a NOC names on sight, with the service usually behind them
/// (IANA's names, shortened where the short name is the common one).
/// Sorted by port: [`service_name`] searches it.
pub const SERVICES: &[(u16, &str)] = &[
    (20, "ftp-data"),
    (21, "ftp"),
    (22, "ssh"),
    (23, "telnet"),
    (25, "smtp"),
    (53, "dns"),
    (67, "dhcp"),
    (69, "tftp"),
    (80, "http"),
    (110, "pop3"),
    (111, "rpcbind"),
    (123, "ntp"),
    (135, "msrpc"),
    (137, "netbios-ns"),
    (139, "netbios"),
    (143, "imap"),
    (161, "snmp"),
    (389, "ldap"),
    (443, "https"),
    (445, "smb"),
    (465, "smtps"),
    (500, "ike"),
    (514, "syslog"),
    (587, "submission"),
    (623, "ipmi"),
    (636, "ldaps"),
    (873, "rsync"),
    (993, "imaps"),
    (995, "pop3s"),
    (1080, "socks"),
    (1433, "mssql"),
    (1723, "pptp"),
    (1883, "mqtt"),
    (1900, "ssdp"),
    (2049, "nfs"),
    (2375, "docker"),
    (3128, "squid"),
    (3306, "mysql"),
    (3389, "rdp"),
    (5060, "sip"),
    (5432, "postgres"),
    (5900, "vnc"),
    (6379, "redis"),
    (8080, "http-alt"),
    (8443, "https-alt"),
    (9200, "elasticsearch"),
    (11211, "memcached"),
    (27017, "mongodb"),
];

/// The last well-known (system) port: 0 to 1023 are assigned by IANA and
/// need privileges to bind, so scans of them are scans for services.
pub const WELL_KNOWN_LAST: u16 = 1023;

/// The service usually behind `port` (`443` -> `https`), if it is a
/// common one.
pub fn service_name(port: u16) -> Option<&'static str> {
    SERVICES
        .binary_search_by_key(&port, |&(p, _)| p)
        .ok()
        .map(|i| SERVICES[i].1)
}

/// IP datagram lengths worth marking on the length map, most important
/// first (the first ones keep their labels where marks crowd together):
/// the Ethernet MTU, jumbo frames, the smallest datagrams every IPv4 and
/// IPv6 host must take, and a bare TCP header (a SYN scan without options).
pub const COMMON_LENGTHS: &[(u16, &str)] = &[
    (1500, "1500 MTU"),
    (9000, "9000 jumbo"),
    (576, "576 min"),
    (1280, "1280 v6 min"),
    (40, "40 bare TCP"),
];

/// What the address maps' cells are beyond their low 16 bits, from the
/// local IPv4 networks (`--local`): their first two octets when they all
/// share them, and the /24s they span when narrower than a /16.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalPrefix {
    /// The first two octets of every local IPv4 network, when they are the
    /// same for all and each is at least a /16: a cell x.x.C.D is then the
    /// address A.B.C.D. `None` when unknown or ambiguous (two /16s fold
    /// onto one map).
    pub high: Option<[u8; 2]>,
    /// The third octets (first, last) of each local network narrower than a
    /// /16, in the order given: the rows the map has traffic in.
    pub rows: Vec<(u8, u8)>,
}

impl LocalPrefix {
    /// At most this many local row spans are marked on an axis.
    pub const MAX_ROW_MARKS: usize = 4;

    /// From local IPv4 networks as (network address, prefix length).
    pub fn from_v4(nets: &[([u8; 4], u8)]) -> Self {
        let mut high: Option<[u8; 2]> = None;
        let mut known = !nets.is_empty();
        let mut rows = Vec::new();
        for &(addr, len) in nets {
            if len < 16 {
                known = false;
                continue;
            }
            let h = [addr[0], addr[1]];
            match high {
                Some(prev) if prev != h => known = false,
                _ => high = Some(h),
            }
            if len > 16 {
                // Prefix lengths over 24 still span (part of) one row.
                let span = 1u16 << (24 - len.min(24));
                let first = u16::from(addr[2]) & !(span - 1);
                let last = first + span - 1;
                // first and last are within 0..=255: spans are aligned.
                rows.push((first as u8, last as u8));
            }
        }
        LocalPrefix {
            high: high.filter(|_| known),
            rows,
        }
    }

    /// How a /24 row is named: `10.20.117.x`, or `x.x.117.x` when the first
    /// octets are not known.
    pub fn row(&self, third: u8) -> String {
        match self.high {
            Some([a, b]) => format!("{a}.{b}.{third}.x"),
            None => format!("x.x.{third}.x"),
        }
    }

    /// How one address is named: `10.20.117.37`, or `x.x.117.37`.
    pub fn address(&self, third: u8, fourth: u8) -> String {
        match self.high {
            Some([a, b]) => format!("{a}.{b}.{third}.{fourth}"),
            None => format!("x.x.{third}.{fourth}"),
        }
    }

    /// How a block of /24s starting at `third` is named as a prefix
    /// (`10.20.16.0/20`, `x.x.16.0/20`).
    pub fn block(&self, third: u8, len: u8) -> String {
        match self.high {
            Some([a, b]) => format!("{a}.{b}.{third}.0/{len}"),
            None => format!("x.x.{third}.0/{len}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_sorted_and_named() {
        assert!(SERVICES.windows(2).all(|p| p[0].0 < p[1].0));
        assert_eq!(service_name(443), Some("https"));
        assert_eq!(service_name(22), Some("ssh"));
        assert_eq!(service_name(3389), Some("rdp"));
        assert_eq!(service_name(4444), None);
    }

    #[test]
    fn local_networks_name_the_rows_they_are_known_in() {
        let p = LocalPrefix::from_v4(&[([123, 56, 104, 0], 24)]);
        assert_eq!(p.high, Some([123, 56]));
        assert_eq!(p.rows, [(104, 104)]);
        assert_eq!(p.row(104), "123.56.104.x");
        assert_eq!(p.address(104, 37), "123.56.104.37");
        let p = LocalPrefix::from_v4(&[([10, 20, 0, 0], 16)]);
        assert_eq!((p.high, p.rows.len()), (Some([10, 20]), 0));
        assert_eq!(p.row(117), "10.20.117.x");
        let p = LocalPrefix::from_v4(&[([10, 20, 96, 0], 20), ([10, 20, 200, 7], 32)]);
        assert_eq!(p.rows, [(96, 111), (200, 200)]);
        // Two /16s fold onto one map, and a /8 spans many: unknown.
        let two = LocalPrefix::from_v4(&[([10, 20, 0, 0], 16), ([10, 21, 0, 0], 16)]);
        assert_eq!(two.high, None);
        assert_eq!(two.row(5), "x.x.5.x");
        assert_eq!(LocalPrefix::from_v4(&[([10, 0, 0, 0], 8)]).high, None);
        assert_eq!(LocalPrefix::from_v4(&[]), LocalPrefix::default());
        assert_eq!(p.block(16, 20), "10.20.16.0/20");
    }
}
