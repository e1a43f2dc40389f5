//! What `scanwall count --netflow` prints besides the maps: the collector's
//! totals and each exporter's figures, so scripts and tests can check what a
//! collection run received, used, could not use and lost.

use std::sync::atomic::Ordering::Relaxed;

use super::ingest::{NetflowStats, Unusable};

/// One exporter's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExporterReport {
    /// Address, with `#domain` when the domain is not 0.
    pub exporter: String,
    /// NetFlow version (5, 9, or 10 for IPFIX).
    pub version: u16,
    /// Flow records counted (or skipped as not inbound).
    pub flows: u64,
    /// Packets they stand for (scaled by sampling).
    pub packets: u64,
    /// Times the sequence number jumped ahead.
    pub sequence_gaps: u64,
    /// Malformed datagrams.
    pub malformed: u64,
    /// Templates held at the end.
    pub templates: u64,
}

/// A collection run's figures, read once at its end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetflowReport {
    /// Datagrams received, well-formed or not.
    pub datagrams: u64,
    /// Datagrams rejected as malformed.
    pub malformed: u64,
    /// Well-formed datagrams of v5, v9, IPFIX.
    pub by_version: [u64; 3],
    /// Flow records counted (or skipped as not inbound).
    pub flows: u64,
    /// Options data records read.
    pub option_records: u64,
    /// Template records kept.
    pub templates: u64,
    /// Templates withdrawn.
    pub withdrawn: u64,
    /// Sequence gaps.
    pub sequence_gaps: u64,
    /// What could not be used, by reason name.
    pub unusable: Vec<(&'static str, u64)>,
    /// Datagrams the kernel dropped on the socket (0 when not readable).
    pub kernel_drops: u64,
    /// Each exporter.
    pub exporters: Vec<ExporterReport>,
}

impl NetflowReport {
    /// Reads `stats`.
    pub fn new(stats: &NetflowStats) -> Self {
        let exporters = stats
            .exporters
            .all()
            .iter()
            .map(|f| ExporterReport {
                exporter: f.name.clone(),
                version: f.version,
                flows: f.flows.load(Relaxed),
                packets: f.packets.load(Relaxed),
                sequence_gaps: f.sequence_gaps.load(Relaxed),
                malformed: f.malformed.load(Relaxed),
                templates: f.templates.load(Relaxed),
            })
            .collect();
        NetflowReport {
            datagrams: stats.datagrams.load(Relaxed),
            malformed: stats.malformed.load(Relaxed),
            by_version: [0, 1, 2].map(|i| stats.by_version[i].load(Relaxed)),
            flows: stats.flows.load(Relaxed),
            option_records: stats.option_records.load(Relaxed),
            templates: stats.templates.load(Relaxed),
            withdrawn: stats.withdrawn.load(Relaxed),
            sequence_gaps: stats.sequence_gaps.load(Relaxed),
            unusable: Unusable::ALL
                .iter()
                .map(|&u| (u.name(), stats.unusable[u as usize].load(Relaxed)))
                .collect(),
            kernel_drops: stats.kernel_drops.load(Relaxed),
            exporters,
        }
    }

    /// The `"netflow"` object of `count --format json`.
    pub fn to_json(&self) -> serde_json::Value {
        let exporters: Vec<serde_json::Value> = self
            .exporters
            .iter()
            .map(|e| {
                serde_json::json!({
                    "exporter": e.exporter,
                    "version": e.version,
                    "flows": e.flows,
                    "packets": e.packets,
                    "sequence_gaps": e.sequence_gaps,
                    "malformed": e.malformed,
                    "templates": e.templates,
                })
            })
            .collect();
        let unusable: serde_json::Map<String, serde_json::Value> = self
            .unusable
            .iter()
            .map(|&(name, n)| (name.to_string(), n.into()))
            .collect();
        serde_json::json!({
            "datagrams": self.datagrams,
            "malformed": self.malformed,
            "v5_datagrams": self.by_version[0],
            "v9_datagrams": self.by_version[1],
            "ipfix_datagrams": self.by_version[2],
            "flows": self.flows,
            "option_records": self.option_records,
            "templates": self.templates,
            "withdrawn_templates": self.withdrawn,
            "sequence_gaps": self.sequence_gaps,
            "unusable": unusable,
            "kernel_drops": self.kernel_drops,
            "exporters": exporters,
        })
    }
}
