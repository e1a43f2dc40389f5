//! The inbound rule: which addresses are "ours" (`--local CIDR`, repeatable).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// A `--local` value that is not a CIDR prefix.
#[derive(Debug, thiserror::Error)]
#[error("`{text}` is not a CIDR prefix: expected e.g. 192.0.2.0/24 or 2001:db8::/32")]
pub struct ParseCidrError {
    text: String,
}

/// The local networks, split by family and pre-masked for a branch-light test.
///
/// With no prefixes at all every IP packet counts as inbound (`COUNTING.md`).
#[derive(Clone, Debug, Default)]
pub struct LocalNets {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

/// Parses one `--local` value: a CIDR prefix, or a bare address as a
/// single-host prefix.
pub fn parse_prefix(text: &str) -> Result<IpNet, ParseCidrError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ParseCidrError {
            text: text.to_string(),
        })
}

impl LocalNets {
    /// Parses `--local` values; a bare address is a single-host prefix.
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Self, ParseCidrError> {
        let nets = texts
            .iter()
            .map(|t| parse_prefix(t.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_nets(&nets))
    }

    /// Builds the rule from parsed prefixes.
    pub fn from_nets(nets: &[IpNet]) -> Self {
        let mut local = Self::default();
        for net in nets {
            match net {
                IpNet::V4(n) => {
                    let mask = u32::from(n.netmask());
                    local.v4.push((u32::from(n.network()) & mask, mask));
                }
                IpNet::V6(n) => {
                    let mask = u128::from(n.netmask());
                    local.v6.push((u128::from(n.network()) & mask, mask));
                }
            }
        }
        local
    }

    /// The local IPv4 networks as (network address, prefix length), in the
    /// order given: what the display side names addresses from.
    pub fn v4_networks(&self) -> impl Iterator<Item = ([u8; 4], u8)> + '_ {
        // A mask from a prefix has at most 32 leading ones: the cast is exact.
        self.v4
            .iter()
            .map(|&(net, mask)| (net.to_be_bytes(), mask.leading_ones() as u8))
    }

    /// True when no `--local` was given: every packet is inbound.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether an IPv4 packet from `src` to `dst` is inbound.
    #[inline(always)]
    pub fn inbound_v4(&self, src: u32, dst: u32) -> bool {
        if self.is_empty() {
            return true;
        }
        let local = |a: u32| self.v4.iter().any(|&(net, mask)| a & mask == net);
        local(dst) && !local(src)
    }

    /// Whether an IPv6 packet from `src` to `dst` is inbound.
    #[inline(always)]
    pub fn inbound_v6(&self, src: u128, dst: u128) -> bool {
        if self.is_empty() {
            return true;
        }
        let local = |a: u128| self.v6.iter().any(|&(net, mask)| a & mask == net);
        local(dst) && !local(src)
    }

    /// Human-readable list for status lines and logs.
    pub fn describe(&self) -> String {
        let v4 = self
            .v4
            .iter()
            .map(|&(n, m)| format!("{}/{}", Ipv4Addr::from(n), m.count_ones()));
        let v6 = self
            .v6
            .iter()
            .map(|&(n, m)| format!("{}/{}", Ipv6Addr::from(n), m.count_ones()));
        v4.chain(v6).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn empty_means_everything_is_inbound() {
        let l = LocalNets::default();
        assert!(l.inbound_v4(1, 2));
        assert!(l.inbound_v6(1, 2));
    }

    #[test]
    fn inbound_needs_local_destination_and_foreign_source() {
        let l = LocalNets::parse(&["10.1.0.0/16", "2001:db8::/32"]).unwrap();
        assert!(l.inbound_v4(v4("8.8.8.8"), v4("10.1.2.3")));
        assert!(!l.inbound_v4(v4("10.1.9.9"), v4("10.1.2.3")));
        assert!(!l.inbound_v4(v4("8.8.8.8"), v4("10.2.2.3")));
        let a = u128::from("2001:db8::1".parse::<Ipv6Addr>().unwrap());
        let b = u128::from("2001:db9::1".parse::<Ipv6Addr>().unwrap());
        assert!(l.inbound_v6(b, a));
        assert!(!l.inbound_v6(a, a));
        assert!(!l.inbound_v6(a, b));
    }

    #[test]
    fn host_bits_are_masked_and_bare_addresses_accepted() {
        let l = LocalNets::parse(&["10.1.2.3/16", "192.0.2.7"]).unwrap();
        assert!(l.inbound_v4(v4("1.1.1.1"), v4("10.1.200.1")));
        assert!(l.inbound_v4(v4("1.1.1.1"), v4("192.0.2.7")));
        assert!(!l.inbound_v4(v4("1.1.1.1"), v4("192.0.2.8")));
        assert_eq!(l.describe(), "10.1.0.0/16, 192.0.2.7/32");
    }

    #[test]
    fn bad_cidr_names_the_value() {
        let err = LocalNets::parse(&["10.0.0.0/33"]).unwrap_err().to_string();
        assert!(err.contains("10.0.0.0/33"), "{err}");
        assert!(LocalNets::parse(&["nonsense"]).is_err());
    }
}
