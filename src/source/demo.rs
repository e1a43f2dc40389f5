//! Built-in synthetic traffic that looks like the paper's campus, so the wall,
//! a demo and the tests need no network.
//!
//! What the paper saw, and this generator reproduces: background replies to
//! clients' ephemeral ports (the dark bottom quarter of the port map), heavy TCP
//! SYN scanning with ports clustered at 8000-10000 and 49000-55000, horizontal
//! ICMP sweeps along fixed 3rd octets, one vertical sweep (one host number in
//! every /24), UDP spread everywhere with short bars, and long GRO-merged
//! packets at multiples of 8 bytes. It is seeded: the same seed and rate give the
//! same packets. Frames are built in memory and never sent anywhere; all
//! addresses are in 127.0.0.0/8 (local 127.20.0.0/16, scanners 127.99.0.0/16).

use super::{Record, RecordSource, SourceError};
use crate::parse::LinkType;

/// The demo's local network (the maps key on its low 16 bits).
pub const DEMO_LOCAL: &str = "127.20.0.0/16";
const LOCAL_PREFIX: [u8; 2] = [127, 20];
const SCANNER_PREFIX: [u8; 2] = [127, 99];

/// Demo settings.
#[derive(Clone, Copy, Debug)]
pub struct DemoConfig {
    /// PRNG seed: same seed, same traffic.
    pub seed: u64,
    /// Mean packets per second of packet time.
    pub rate_pps: f64,
    /// Timestamp of the first packet (ns since the Unix epoch).
    pub start_ns: u64,
    /// Packet time to generate; `None` runs for ever.
    pub duration_ns: Option<u64>,
}

impl DemoConfig {
    /// A fixed start time for reproducible captures and snapshots: 2021-06-01 00:00 UTC.
    pub const FIXED_START_NS: u64 = 1_622_505_600 * 1_000_000_000;
    /// The default rate: enough to fill the maps within a half-life on one core.
    pub const DEFAULT_RATE: f64 = 20_000.0;
}

/// A horizontal sweep in progress: one 3rd octet, the 4th octet counting up.
#[derive(Clone, Copy, Debug)]
struct Sweep {
    fixed: u8,
    next: u16,
    port: u16,
}

/// The generator. Each call to `next_record` builds one Ethernet frame.
pub struct DemoTraffic {
    rng: fastrand::Rng,
    config: DemoConfig,
    now_ns: u64,
    mean_gap_ns: f64,
    frame: [u8; 128],
    icmp_sweep: Sweep,
    vertical_sweep: Sweep,
    syn_sweep: Sweep,
    udp_bar: Sweep,
    port_scan: Sweep,
}

/// The scanner behind one sweep (each sweep has its own, so the wall's
/// events name a source as they would on a real network): 127.99.20K.X for
/// sweep kind K (1-5) and the sweep's fixed row, host or port byte `x`.
/// Derived, not drawn, so the packets' cells are what they always were.
fn sweeper(kind: u8, x: u8) -> [u8; 4] {
    [SCANNER_PREFIX[0], SCANNER_PREFIX[1], 200 + kind, x]
}

/// Rows (3rd octets) that ICMP sweeps follow, as the paper saw fixed lines.
const ICMP_SWEEP_ROWS: [u8; 5] = [12, 45, 77, 140, 201];
/// The host number the vertical sweep probes in every /24.
const VERTICAL_HOST: u8 = 37;
/// Ports scanners look for most.
const POPULAR_PORTS: [u16; 12] = [22, 23, 80, 443, 445, 1433, 3306, 3389, 5900, 6379, 8080, 8443];
/// Active clients receiving replies: a few hundred hosts in a few /24s.
const CLIENT_ROWS: [u8; 4] = [10, 11, 100, 101];

impl DemoTraffic {
    /// A generator with `config`.
    pub fn new(config: DemoConfig) -> Self {
        let rate = if config.rate_pps.is_finite() && config.rate_pps > 0.0 {
            config.rate_pps
        } else {
            1.0
        };
        let mut rng = fastrand::Rng::with_seed(config.seed);
        let sweep = |rng: &mut fastrand::Rng, fixed: u8| Sweep {
            fixed,
            next: 0,
            port: rng.u16(1..1024),
        };
        DemoTraffic {
            icmp_sweep: sweep(&mut rng, ICMP_SWEEP_ROWS[0]),
            vertical_sweep: sweep(&mut rng, VERTICAL_HOST),
            syn_sweep: sweep(&mut rng, 60),
            udp_bar: sweep(&mut rng, 90),
            port_scan: sweep(&mut rng, 222),
            rng,
            config,
            now_ns: config.start_ns,
            mean_gap_ns: 1e9 / rate,
            frame: [0; 128],
        }
    }

    /// A campus client (a few hundred hosts in a few /24s).
    fn client(&mut self) -> [u8; 4] {
        let row = CLIENT_ROWS[self.rng.usize(..CLIENT_ROWS.len())];
        local(row, self.rng.u8(1..250))
    }

    /// Any local address.
    fn anywhere(&mut self) -> [u8; 4] {
        let (row, col) = (self.rng.u8(..), self.rng.u8(..));
        local(row, col)
    }

    /// One of a few hundred background scanners.
    fn scanner(&mut self) -> [u8; 4] {
        // A few hundred scanners; heavy hitters more often.
        let n = (self.rng.u16(..) % 512) & self.rng.u16(..);
        [SCANNER_PREFIX[0], SCANNER_PREFIX[1], (n >> 8) as u8, n as u8]
    }

    /// Builds the next frame; returns (captured length, wire length).
    fn build(&mut self) -> (usize, u32) {
        let pick = self.rng.u32(..1000);
        let src = self.scanner();
        match pick {
            // Replies to campus clients' ephemeral ports: TCP ACKs from web servers.
            0..=279 => {
                let dst = self.client();
                let dport = self.rng.u16(49152..=65535);
                let len = if self.rng.bool() { 52 } else { 1500 };
                self.tcp(src, dst, 443, dport, 0x10, len)
            }
            // Uniform SYN scanning of the whole /16 on popular ports.
            280..=529 => {
                let dst = self.anywhere();
                let dport = POPULAR_PORTS[self.rng.usize(..POPULAR_PORTS.len())];
                let sport = self.rng.u16(1024..);
                self.tcp(src, dst, sport, dport, 0x02, 44)
            }
            // SYN scans of port ranges 8000-10000 and 49000-55000.
            530..=639 => {
                let dst = self.anywhere();
                let dport = if self.rng.bool() {
                    self.rng.u16(8000..=10000)
                } else {
                    self.rng.u16(49000..=55000)
                };
                let sport = self.rng.u16(1024..);
                self.tcp(src, dst, sport, dport, 0x02, 44)
            }
            // One /24 swept on one port: a horizontal line in the SYN and addr x port maps.
            640..=689 => {
                let s = advance(&mut self.syn_sweep, &mut self.rng, None);
                let dst = local(s.fixed, s.next as u8);
                self.tcp(sweeper(1, s.fixed), dst, 40000, s.port, 0x02, 44)
            }
            // One host probed on many ports: a vertical line in the addr x port maps.
            690..=719 => {
                let s = advance(&mut self.port_scan, &mut self.rng, None);
                let dst = local(s.fixed, 99);
                let dport = s.next | (u16::from(s.port as u8) << 8);
                self.tcp(sweeper(2, s.port as u8), dst, 40001, dport, 0x02, 44)
            }
            // Horizontal ICMP sweeps along fixed 3rd octets.
            720..=789 => {
                let s = advance(&mut self.icmp_sweep, &mut self.rng, Some(&ICMP_SWEEP_ROWS));
                let dst = local(s.fixed, s.next as u8);
                self.icmp(sweeper(3, s.fixed), dst)
            }
            // The vertical sweep: host .37 in every /24.
            790..=809 => {
                let s = advance(&mut self.vertical_sweep, &mut self.rng, Some(&[VERTICAL_HOST]));
                let dst = local(s.next as u8, s.fixed);
                self.icmp(sweeper(4, s.fixed), dst)
            }
            // UDP over the whole space.
            810..=889 => {
                let dst = self.anywhere();
                let dport = [53, 123, 161, 1900, 5060, 11211][self.rng.usize(..6)];
                self.udp(src, dst, dport)
            }
            // UDP short bars: 24 consecutive hosts of one /24.
            890..=929 => {
                let s = advance(&mut self.udp_bar, &mut self.rng, None);
                let col = (s.port as u8 & 0xc0).wrapping_add((s.next % 24) as u8);
                let dst = local(s.fixed, col);
                self.udp(sweeper(5, s.fixed), dst, s.port)
            }
            // GRO-merged long segments: lengths above 1500 at multiples of 8.
            930..=969 => {
                let dst = self.client();
                let len = 1504 + 8 * self.rng.u16(..4000);
                let dport = self.rng.u16(49152..=65535);
                self.tcp(src, dst, 443, dport, 0x10, len)
            }
            // Everything else: ordinary web traffic to servers.
            _ => {
                let dst = local(1, self.rng.u8(1..20));
                let len = self.rng.u16(40..1500);
                let (sport, dport) = (self.rng.u16(1024..), [80, 443][self.rng.usize(..2)]);
                self.tcp(src, dst, sport, dport, 0x18, len)
            }
        }
    }

    fn ip(&mut self, src: [u8; 4], dst: [u8; 4], protocol: u8, total_len: u16) {
        let f = &mut self.frame;
        f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[15] = 0;
        f[16..18].copy_from_slice(&total_len.to_be_bytes());
        f[18..20].copy_from_slice(&[0, 0]);
        f[20..22].copy_from_slice(&[0x40, 0]);
        f[22] = 64;
        f[23] = protocol;
        f[24..26].copy_from_slice(&[0, 0]);
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
    }

    fn tcp(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        flags: u8,
        total_len: u16,
    ) -> (usize, u32) {
        let total_len = total_len.max(40);
        self.ip(src, dst, 6, total_len);
        let f = &mut self.frame;
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f[38..46].fill(0);
        f[46] = 0x50;
        f[47] = flags;
        f[48..54].copy_from_slice(&[0xfa, 0xf0, 0, 0, 0, 0]);
        (54, 14 + u32::from(total_len))
    }

    fn udp(&mut self, src: [u8; 4], dst: [u8; 4], dport: u16) -> (usize, u32) {
        let total_len = 28 + self.rng.u16(0..200);
        self.ip(src, dst, 17, total_len);
        let sport = self.rng.u16(1024..);
        let f = &mut self.frame;
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f[38..40].copy_from_slice(&(total_len - 20).to_be_bytes());
        f[40..42].fill(0);
        (42, 14 + u32::from(total_len))
    }

    fn icmp(&mut self, src: [u8; 4], dst: [u8; 4]) -> (usize, u32) {
        self.ip(src, dst, 1, 28);
        let f = &mut self.frame;
        f[34] = 8; // echo request
        f[35..42].fill(0);
        (42, 42)
    }
}

/// A local address from its 3rd and 4th octets.
fn local(row: u8, col: u8) -> [u8; 4] {
    [LOCAL_PREFIX[0], LOCAL_PREFIX[1], row, col]
}

/// Moves a sweep one step; at its end starts a new one (on one of `rows` if given).
fn advance(s: &mut Sweep, rng: &mut fastrand::Rng, rows: Option<&[u8]>) -> Sweep {
    let current = *s;
    s.next += 1;
    if s.next > 255 {
        s.next = 0;
        s.fixed = match rows {
            Some(r) => r[rng.usize(..r.len())],
            None => rng.u8(..),
        };
        s.port = rng.u16(1..1024);
    }
    current
}

impl RecordSource for DemoTraffic {
    fn link(&self) -> LinkType {
        LinkType::Ethernet
    }

    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError> {
        if let Some(d) = self.config.duration_ns
            && self.now_ns >= self.config.start_ns.saturating_add(d)
        {
            return Ok(None);
        }
        // Poisson arrivals: exponential gaps with the configured mean.
        let gap = -self.mean_gap_ns * (1.0 - self.rng.f64()).ln();
        self.now_ns = self.now_ns.saturating_add(gap as u64);
        let ts_ns = self.now_ns;
        let (captured, wire_len) = self.build();
        Ok(Some(Record {
            ts_ns,
            wire_len,
            data: &self.frame[..captured],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting::{Counters, Decay, PacketSink};
    use crate::maps::by_name;
    use crate::parse::{Classifier, LocalNets};

    fn counts(seed: u64, seconds: u64) -> std::sync::Arc<Counters> {
        let mut demo = DemoTraffic::new(DemoConfig {
            seed,
            rate_pps: 20_000.0,
            start_ns: DemoConfig::FIXED_START_NS,
            duration_ns: Some(seconds * 1_000_000_000),
        });
        let counters = Counters::new((0..9).collect(), Decay::NONE);
        let locals = LocalNets::parse(&[DEMO_LOCAL]).unwrap();
        let mut sink = PacketSink::new(Classifier::new(LinkType::Ethernet, locals), counters.writer());
        while let Some(r) = demo.next_record().unwrap() {
            sink.packet(r.ts_ns, r.wire_len, r.data);
        }
        counters
    }

    #[test]
    fn same_seed_same_traffic_and_every_packet_is_inbound() {
        let a = counts(7, 2);
        let b = counts(7, 2);
        let all = by_name("all").unwrap();
        assert_eq!(a.exact_counts(all), b.exact_counts(all));
        let t = a.totals();
        assert!((35_000..45_000).contains(&t.packets), "{}", t.packets);
        assert_eq!(t.skipped.iter().sum::<u64>(), 0, "{:?}", t.skipped);
        assert_ne!(counts(8, 2).exact_counts(all), a.exact_counts(all));
    }

    #[test]
    fn looks_like_the_campus() {
        let c = counts(1, 10);
        let get = |m: &str| c.exact_counts(by_name(m).unwrap()).unwrap();
        let port = get("port");
        let synport = get("synport");
        let sum = |v: &[u64], r: std::ops::Range<usize>| v[r].iter().sum::<u64>();
        // Ephemeral replies darken the bottom quarter of the port map, not the SYN one.
        assert!(sum(&port, 49152..65536) > 3 * sum(&port, 16384..32768));
        assert!(sum(&synport, 8000..10001) > 10 * sum(&synport, 20000..22001));
        // ICMP sweeps follow fixed rows; the vertical sweep hits .37 in many rows.
        let icmp = get("icmp");
        let row = |r: usize| sum(&icmp, r * 256..(r + 1) * 256);
        assert!(row(77) > 20 * row(78).max(1), "{} {}", row(77), row(78));
        let col37 = (0..256).filter(|r| icmp[r * 256 + 37] > 0).count();
        assert!(col37 > 200, "{col37}");
        // Long packets above 1500 sit on multiples of 8.
        let len = get("len");
        assert!(sum(&len, 1501..65536) > 0);
        assert!((1501..65536).filter(|&l| len[l] > 0).all(|l| l % 8 == 0));
    }
}
