//! What `scanwall count --sflow` prints besides the maps: the collector's
//! totals and each agent's line, so scripts and tests can check what a
//! collection run received, rejected and lost.

use std::sync::atomic::Ordering::Relaxed;

use super::ingest::SflowStats;
use crate::source::SourceStatus;
use crate::source::peers::{PeerKind, PeerSummary};

/// A collection run's figures, read once at its end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SflowReport {
    /// Datagrams received, well-formed or not.
    pub datagrams: u64,
    /// Datagrams rejected as malformed.
    pub malformed: u64,
    /// Flow samples in well-formed datagrams.
    pub flow_samples: u64,
    /// Sampled headers among them.
    pub sampled_headers: u64,
    /// Packets lost to samples the agents dropped (drops increases x rate).
    pub sample_drops: u64,
    /// Datagrams lost (sequence gaps).
    pub lost_datagrams: u64,
    /// Packets estimated lost with them.
    pub lost_packets: u64,
    /// Datagrams the kernel dropped on the socket (0 when not readable).
    pub kernel_drops: u64,
    /// Datagrams from agents past the tracking cap.
    pub untracked: u64,
    /// Additions to drop or packet totals cut short at 2^64 - 1.
    pub saturated: u64,
    /// Each agent: name, packets (scaled), drops (packets), malformed datagrams.
    pub agents: Vec<(String, u64, u64, u64)>,
}

impl SflowReport {
    /// Reads `stats` and the sFlow agents of `status`'s peer table.
    pub fn new(stats: &SflowStats, status: &SourceStatus) -> Self {
        let agents = status
            .peers
            .summaries()
            .into_iter()
            .filter(|p: &PeerSummary| p.kind == PeerKind::SflowAgent)
            .map(|p| (p.name, p.packets, p.drops, p.malformed))
            .collect();
        SflowReport {
            datagrams: stats.datagrams.load(Relaxed),
            malformed: stats.malformed.load(Relaxed),
            flow_samples: stats.flow_samples.load(Relaxed),
            sampled_headers: stats.headers.load(Relaxed),
            sample_drops: stats.sample_drops.load(Relaxed),
            lost_datagrams: stats.lost_datagrams.load(Relaxed),
            lost_packets: stats.lost_packets.load(Relaxed),
            kernel_drops: stats.kernel_drops.load(Relaxed),
            untracked: stats.untracked.load(Relaxed),
            saturated: stats.saturated.load(Relaxed),
            agents,
        }
    }

    /// The `"sflow"` object of `count --format json`.
    pub fn to_json(&self) -> serde_json::Value {
        let agents: Vec<serde_json::Value> = self
            .agents
            .iter()
            .map(|(name, packets, drops, malformed)| {
                serde_json::json!({
                    "agent": name,
                    "packets": packets,
                    "drops": drops,
                    "malformed": malformed,
                })
            })
            .collect();
        serde_json::json!({
            "datagrams": self.datagrams,
            "malformed": self.malformed,
            "flow_samples": self.flow_samples,
            "sampled_headers": self.sampled_headers,
            "sample_drops": self.sample_drops,
            "lost_datagrams": self.lost_datagrams,
            "lost_packets": self.lost_packets,
            "kernel_drops": self.kernel_drops,
            "untracked_datagrams": self.untracked,
            "saturated_totals": self.saturated,
            "agents": agents,
        })
    }
}
