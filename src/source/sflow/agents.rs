//! What an sFlow collector remembers per agent: where its datagram sequence
//! stands and each data source's drop counter, so lost datagrams and dropped
//! samples become a drop figure. No I/O, bounded memory.
//!
//! The rules (also in the README, "sFlow"):
//!
//! - **Dropped samples.** A flow sample's `drops` field counts the samples its
//!   data source could not take, since the agent started. Per data source the
//!   first sample seen sets the baseline; after that each increase, times that
//!   sample's sampling rate, is packets lost. A sample older than the newest one
//!   seen (by sample sequence number) is ignored for this; a counter that goes
//!   down (agent restarted) sets a new baseline.
//! - **Lost datagrams.** Datagram sequence numbers rise by one per datagram of
//!   an agent and sub-agent. A jump of `n > 1` is `n - 1` lost datagrams, each
//!   counted as the agent's mean packets per datagram so far (counted packets,
//!   scaled, over datagrams received, this one included). A malformed datagram
//!   is not used for the sequence, so it shows up as a gap too: its packets
//!   were not counted. A datagram up to 64 behind the newest is a late arrival:
//!   counted, and no new gap (the gap it left stays counted as lost: rare on
//!   one network, and undoing it would need per-datagram history). Anything
//!   else out of line (further behind, more than 2^20 ahead, or an uptime more
//!   than 10 s lower) is a restart: new baselines, nothing counted as lost.
//!
//! Memory is bounded against floods of spoofed agent addresses: at most
//! [`MAX_AGENTS`] agents and [`MAX_SOURCES`] data sources are tracked. Later
//! ones are still counted into the maps, just not tracked or listed, until
//! room is made: when the table is full, agents silent for [`AGE_OUT`] are
//! forgotten (with their data sources and status line entries), so one
//! spoofed flood does not keep every later agent unlisted until a restart.
//! Time is the datagrams' arrival time, handed in (tests drive it).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::decode::{DatagramHeader, FlowSample};
use crate::source::peers::{PeerHandle, PeerKind, PeerTable};

/// Agents (address and sub-agent) tracked at most.
pub const MAX_AGENTS: usize = crate::source::peers::MAX_LISTED_PEERS;
/// Data sources (agent and source id) whose drop counters are tracked at most.
pub const MAX_SOURCES: usize = 65_536;
/// A datagram this many behind the newest is a late arrival, not a restart.
const REORDER_WINDOW: u32 = 64;
/// A jump further ahead than this is a restart, not lost datagrams (and caps
/// what one spoofed datagram can claim).
const MAX_GAP: u32 = 1 << 20;
/// An uptime this much lower than the last one means the agent restarted.
const RESTART_UPTIME_MS: u32 = 10_000;
/// A full table forgets agents silent this long (nanoseconds). Agents send
/// counter samples every 20 to 30 s even when idle, so a live one is never
/// this quiet; a spoofed flood's addresses all are, soon after it ends.
pub const AGE_OUT_NS: u64 = 600 * 1_000_000_000;
/// A full table looks for agents to forget at most this often (nanoseconds),
/// so a flood of new addresses does not sweep it once per datagram.
const SWEEP_EVERY_NS: u64 = 1_000_000_000;

/// One agent: its address and sub-agent id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AgentKey {
    /// The agent address from the datagram.
    pub addr: IpAddr,
    /// The sub-agent id.
    pub sub_agent: u32,
}

impl AgentKey {
    /// The agent of `header`.
    pub fn of(header: &DatagramHeader) -> Self {
        AgentKey {
            addr: header.agent,
            sub_agent: header.sub_agent,
        }
    }

    /// The name shown on the status line: the address, with `#N` for sub-agent N > 0.
    pub fn name(&self) -> String {
        match self.sub_agent {
            0 => self.addr.to_string(),
            n => format!("{}#{n}", self.addr),
        }
    }
}

/// The sequence state of one agent.
#[derive(Debug)]
struct Agent {
    /// When a datagram of it last arrived (ns since the Unix epoch).
    heard_ns: u64,
    peer: Option<PeerHandle>,
    /// Newest datagram sequence number and its uptime; `None` before the first.
    last: Option<(u32, u32)>,
    /// Bumped on a restart: source baselines of older epochs are stale.
    epoch: u32,
    datagrams: u64,
    packets: u64,
}

/// The drop counter state of one data source.
#[derive(Clone, Copy, Debug)]
struct Source {
    epoch: u32,
    sequence: u32,
    drops: u32,
}

/// A datagram's agent as [`AgentTable::arrive`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// The agent's slot, for [`AgentTable::sample_drops`] and [`AgentTable::finish`].
    pub slot: u32,
    /// Datagrams lost between the previous one and this one.
    pub lost_datagrams: u32,
}

/// Every tracked agent and data source.
#[derive(Debug, Default)]
pub struct AgentTable {
    slots: HashMap<AgentKey, u32>,
    /// By slot; a forgotten agent's slot is reused (see `free`).
    agents: Vec<Agent>,
    /// Slots of forgotten agents, to be reused.
    free: Vec<u32>,
    sources: HashMap<(u32, u64), Source>,
    /// No sweep for agents to forget before this (ns since the Unix epoch).
    next_sweep_ns: u64,
}

impl AgentTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Agents tracked.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no agent is tracked yet.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The slot of `key`, heard from at `now_ns` (arrival, ns since the Unix
    /// epoch), created (with a `peers` entry) on first contact; `None` when
    /// [`MAX_AGENTS`] are tracked and none has been silent for [`AGE_OUT_NS`].
    pub fn slot(&mut self, key: AgentKey, peers: &PeerTable, now_ns: u64) -> Option<u32> {
        if let Some(&slot) = self.slots.get(&key) {
            if let Some(agent) = self.agents.get_mut(slot as usize) {
                agent.heard_ns = agent.heard_ns.max(now_ns);
            }
            return Some(slot);
        }
        if self.slots.len() >= MAX_AGENTS {
            if now_ns < self.next_sweep_ns {
                return None;
            }
            self.next_sweep_ns = now_ns.saturating_add(SWEEP_EVERY_NS);
            self.forget_silent(peers, now_ns);
            if self.slots.len() >= MAX_AGENTS {
                return None;
            }
        }
        let peer = peers.peer(PeerKind::SflowAgent, &key.name());
        let agent = Agent {
            heard_ns: now_ns,
            peer,
            last: None,
            epoch: 0,
            datagrams: 0,
            packets: 0,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(old) = self.agents.get_mut(slot as usize) {
                    *old = agent;
                }
                slot
            }
            None => {
                self.agents.push(agent);
                self.agents.len() as u32 - 1
            }
        };
        self.slots.insert(key, slot);
        Some(slot)
    }

    /// Forgets every agent silent for [`AGE_OUT_NS`] at `now_ns`: its slot,
    /// its data sources, and its entry in `peers`.
    fn forget_silent(&mut self, peers: &PeerTable, now_ns: u64) {
        let mut gone = HashSet::new();
        let mut handles = Vec::new();
        for &slot in self.slots.values() {
            let Some(agent) = self.agents.get_mut(slot as usize) else {
                continue;
            };
            if now_ns.saturating_sub(agent.heard_ns) >= AGE_OUT_NS {
                gone.insert(slot);
                handles.extend(agent.peer.take());
            }
        }
        if gone.is_empty() {
            return;
        }
        self.slots.retain(|_, slot| !gone.contains(slot));
        self.sources.retain(|(slot, _), _| !gone.contains(slot));
        self.free.extend(gone);
        peers.forget(&handles);
    }

    /// The status line entry of the agent in `slot` (none past the peer table's cap).
    pub fn peer(&self, slot: u32) -> Option<&PeerHandle> {
        self.agents.get(slot as usize)?.peer.as_ref()
    }

    /// Notes a well-formed datagram of `header`'s agent that arrived at
    /// `now_ns`: returns its slot and the datagrams lost before it, or `None`
    /// when the table is full (see [`AgentTable::slot`]).
    pub fn arrive(&mut self, header: &DatagramHeader, peers: &PeerTable, now_ns: u64) -> Option<Arrival> {
        let slot = self.slot(AgentKey::of(header), peers, now_ns)?;
        let agent = self.agents.get_mut(slot as usize)?;
        let (seq, uptime) = (header.sequence, header.uptime_ms);
        let mut lost_datagrams = 0;
        match agent.last {
            None => agent.last = Some((seq, uptime)),
            Some((last, last_uptime)) => {
                let ahead = seq.wrapping_sub(last);
                let behind = last.wrapping_sub(seq);
                if uptime.saturating_add(RESTART_UPTIME_MS) < last_uptime {
                    agent.restart(seq, uptime);
                } else if ahead == 0 || (1..=REORDER_WINDOW).contains(&behind) {
                    // A duplicate or a late arrival: no gap, the newest stays.
                } else if ahead <= MAX_GAP {
                    lost_datagrams = ahead - 1;
                    agent.last = Some((seq, uptime));
                } else {
                    agent.restart(seq, uptime);
                }
            }
        }
        Some(Arrival { slot, lost_datagrams })
    }

    /// Packets lost to samples dropped by `sample`'s data source since its
    /// previous sample (increase of `drops` times the sampling rate).
    pub fn sample_drops(&mut self, slot: u32, sample: &FlowSample) -> u64 {
        let Some(agent) = self.agents.get(slot as usize) else {
            return 0;
        };
        let fresh = Source {
            epoch: agent.epoch,
            sequence: sample.sequence,
            drops: sample.drops,
        };
        let room = self.sources.len() < MAX_SOURCES;
        match self.sources.get_mut(&(slot, sample.source_id)) {
            Some(s) if s.epoch == fresh.epoch => {
                let ahead = sample.sequence.wrapping_sub(s.sequence);
                if ahead == 0 || ahead > u32::MAX / 2 {
                    return 0; // a duplicate or an older sample
                }
                // A counter that went down was reset: a new baseline, nothing lost.
                let increase = sample.drops.saturating_sub(s.drops);
                *s = fresh;
                u64::from(increase) * u64::from(sample.sampling_rate)
            }
            Some(s) => {
                *s = fresh;
                0
            }
            None => {
                if room {
                    self.sources.insert((slot, sample.source_id), fresh);
                }
                0
            }
        }
    }

    /// Ends a datagram of the agent in `slot` that carried `packets` (scaled,
    /// counted or skipped): returns the packets estimated lost with the
    /// datagrams lost before it.
    pub fn finish(&mut self, arrival: Arrival, packets: u64) -> u64 {
        let Some(agent) = self.agents.get_mut(arrival.slot as usize) else {
            return 0;
        };
        agent.datagrams += 1;
        agent.packets = agent.packets.saturating_add(packets);
        let mean = agent.packets / agent.datagrams;
        mean.saturating_mul(u64::from(arrival.lost_datagrams))
    }
}

impl Agent {
    fn restart(&mut self, seq: u32, uptime: u32) {
        self.last = Some((seq, uptime));
        self.epoch = self.epoch.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn header(agent: u8, sub_agent: u32, sequence: u32, uptime_ms: u32) -> DatagramHeader {
        DatagramHeader {
            agent: IpAddr::V4(Ipv4Addr::new(127, 0, 0, agent)),
            sub_agent,
            sequence,
            uptime_ms,
            samples: 1,
        }
    }

    fn sample(source: u64, sequence: u32, rate: u32, drops: u32) -> FlowSample {
        FlowSample {
            sequence,
            source_id: source,
            sampling_rate: rate,
            sample_pool: 0,
            drops,
        }
    }

    /// Feeds datagrams (sequence, uptime, packets) of one agent; returns the
    /// packets estimated lost at each.
    fn lost(datagrams: &[(u32, u32, u64)]) -> Vec<u64> {
        let mut t = AgentTable::new();
        let peers = PeerTable::default();
        datagrams
            .iter()
            .map(|&(seq, up, packets)| {
                let a = t.arrive(&header(1, 0, seq, up), &peers, 0).unwrap();
                t.finish(a, packets)
            })
            .collect()
    }

    #[test]
    fn a_sequence_gap_is_lost_datagrams_at_the_mean() {
        // 100 packets per datagram; 2 and 3 are missing.
        assert_eq!(lost(&[(1, 0, 100), (4, 10, 100), (5, 20, 100)]), [0, 200, 0]);
        // Mean over datagrams received so far, this one included: (100 + 300) / 2.
        assert_eq!(lost(&[(1, 0, 100), (3, 10, 300)]), [0, 200]);
        // Wrapping at 2^32 is one step.
        assert_eq!(lost(&[(u32::MAX, 0, 10), (0, 1, 10), (2, 2, 10)]), [0, 0, 10]);
    }

    #[test]
    fn duplicates_late_arrivals_and_restarts_lose_nothing() {
        // A duplicate, then a late one.
        assert_eq!(
            lost(&[(5, 0, 10), (5, 0, 10), (7, 1, 10), (6, 1, 10), (8, 2, 10)]),
            [0, 0, 10, 0, 0]
        );
        // Sequence far behind: restart.
        assert_eq!(lost(&[(1000, 0, 10), (1, 0, 10), (2, 1, 10)]), [0, 0, 0]);
        // Far ahead: restart, not a million lost datagrams.
        assert_eq!(lost(&[(1, 0, 10), (1 << 21, 0, 10)]), [0, 0]);
        // Uptime fell by more than 10 s: restart even though the sequence is ahead.
        assert_eq!(lost(&[(1, 60_000, 10), (5, 100, 10)]), [0, 0]);
    }

    #[test]
    fn sample_drops_are_increases_times_the_rate_per_source() {
        let mut t = AgentTable::new();
        let peers = PeerTable::default();
        let a = t.arrive(&header(1, 0, 1, 0), &peers, 0).unwrap();
        let s = a.slot;
        assert_eq!(t.sample_drops(s, &sample(1, 1, 100, 7)), 0, "baseline");
        assert_eq!(
            t.sample_drops(s, &sample(2, 1, 50, 0)),
            0,
            "other source's baseline"
        );
        assert_eq!(t.sample_drops(s, &sample(1, 2, 100, 9)), 200);
        assert_eq!(t.sample_drops(s, &sample(1, 2, 100, 12)), 0, "duplicate sample");
        assert_eq!(t.sample_drops(s, &sample(1, 1, 100, 12)), 0, "older sample");
        assert_eq!(t.sample_drops(s, &sample(2, 2, 50, 1)), 50);
        assert_eq!(t.sample_drops(s, &sample(1, 3, 100, 3)), 0, "counter reset");
        assert_eq!(t.sample_drops(s, &sample(1, 4, 100, 4)), 100);
        // A restart makes every source's baseline stale.
        t.arrive(&header(1, 0, 1, 0), &peers, 0).unwrap();
        t.arrive(&header(1, 0, 5_000_000, 0), &peers, 0).unwrap();
        assert_eq!(t.sample_drops(s, &sample(1, 1, 100, 50)), 0, "new baseline");
        assert_eq!(t.sample_drops(s, &sample(1, 2, 100, 51)), 100);
    }

    #[test]
    fn agents_are_told_apart_by_address_and_sub_agent_and_capped() {
        let mut t = AgentTable::new();
        let peers = PeerTable::default();
        let a = t.arrive(&header(1, 0, 1, 0), &peers, 0).unwrap();
        let b = t.arrive(&header(1, 1, 1, 0), &peers, 0).unwrap();
        let c = t.arrive(&header(2, 0, 1, 0), &peers, 0).unwrap();
        assert_eq!([a.slot, b.slot, c.slot], [0, 1, 2]);
        let names: Vec<String> = peers.summaries().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["127.0.0.1", "127.0.0.1#1", "127.0.0.2"]);
        for i in 0..MAX_AGENTS as u32 * 2 {
            t.arrive(&header(3, i, 1, 0), &peers, 0);
        }
        assert_eq!(t.len(), MAX_AGENTS);
        assert!(t.arrive(&header(9, 0, 1, 0), &peers, 0).is_none());
        // Known agents keep their slots.
        assert_eq!(t.arrive(&header(1, 1, 2, 0), &peers, 0).unwrap().slot, 1);
    }

    #[test]
    fn a_full_table_forgets_agents_silent_for_the_age_out() {
        const SEC: u64 = 1_000_000_000;
        let mut t = AgentTable::new();
        let peers = PeerTable::default();
        // A spoofed flood fills the table at time 0 (one data source each).
        for i in 0..MAX_AGENTS as u32 {
            let a = t.arrive(&header(3, i, 1, 0), &peers, 0).unwrap();
            t.sample_drops(a.slot, &sample(1, 1, 1, 0));
        }
        assert!(t.arrive(&header(9, 0, 1, 0), &peers, 60 * SEC).is_none());
        // One of them is a real agent and keeps talking.
        let real = t
            .arrive(&header(3, 7, 2, 1000), &peers, AGE_OUT_NS - SEC)
            .unwrap();
        assert!(
            t.arrive(&header(9, 0, 1, 0), &peers, AGE_OUT_NS - SEC).is_none(),
            "nobody is silent long enough yet"
        );
        // Past the age-out the silent ones make room; the new agent is tracked and listed.
        let new = t.arrive(&header(9, 0, 1, 0), &peers, AGE_OUT_NS + SEC).unwrap();
        assert_eq!(t.len(), 2);
        let names: Vec<String> = peers.summaries().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["127.0.0.3#7", "127.0.0.9"]);
        assert_ne!(new.slot, real.slot);
        // The real agent keeps its slot and sequence (datagram 3 follows 2)...
        let again = t
            .arrive(&header(3, 7, 3, 2000), &peers, AGE_OUT_NS + SEC)
            .unwrap();
        assert_eq!((again.slot, again.lost_datagrams), (real.slot, 0));
        // ...and the forgotten ones' data sources went with them: the new
        // agent's source 1 starts from a baseline of its own.
        assert_eq!(t.sources.len(), 1);
        assert_eq!(t.sample_drops(new.slot, &sample(1, 5, 10, 3)), 0, "baseline");
        // A forgotten agent that comes back is a new one, with room for it.
        assert!(
            t.arrive(&header(3, 8, 9, 0), &peers, AGE_OUT_NS + 2 * SEC)
                .is_some()
        );
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn sources_are_capped() {
        let mut t = AgentTable::new();
        let peers = PeerTable::default();
        let s = t.arrive(&header(1, 0, 1, 0), &peers, 0).unwrap().slot;
        for i in 0..MAX_SOURCES as u64 + 10 {
            t.sample_drops(s, &sample(i, 1, 1, 0));
        }
        assert_eq!(t.sources.len(), MAX_SOURCES);
        // Untracked sources never report drops.
        let last = MAX_SOURCES as u64 + 5;
        assert_eq!(t.sample_drops(s, &sample(last, 2, 1, 100)), 0);
    }
}
