//! What a NetFlow/IPFIX collector remembers per exporter: its templates, its
//! sampling interval and where its sequence stands. No I/O, bounded memory.
//!
//! An exporter is the datagram's source address with its observation domain
//! (IPFIX), source id (v9) or engine type and id (v5), and the version: each
//! is one template space and one sequence (RFC 7011 section 8, RFC 3954
//! section 5.1). The source address, not a field of the datagram, because
//! v9 and IPFIX carry none.
//!
//! Bounds, against floods of spoofed exporters and template ids: at most
//! [`MAX_EXPORTERS`] exporters, [`MAX_TEMPLATES_PER_EXPORTER`] templates each
//! and [`MAX_TEMPLATES`] in all, of at most [`MAX_FIELDS`] fields. A template
//! not refreshed for [`TEMPLATE_TIMEOUT`] is dropped (exporters over UDP
//! resend theirs every few minutes at most; RFC 7011 section 8.4), and so is
//! an exporter not heard from for [`EXPORTER_TIMEOUT`], with its templates:
//! the tables are swept once a minute, and once a second while one is full. What does not fit is
//! refused and counted, never evicted in favour of a newcomer, so a flood
//! cannot push out the exporters that were there first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use super::decode::{FieldSpec, TemplateRecord, VARIABLE};
use crate::source::peers::{PeerHandle, PeerKind, PeerTable};

/// Exporters tracked at most.
pub const MAX_EXPORTERS: usize = crate::source::peers::MAX_LISTED_PEERS;
/// Templates of one exporter at most.
pub const MAX_TEMPLATES_PER_EXPORTER: u32 = 256;
/// Templates of all exporters at most.
pub const MAX_TEMPLATES: usize = 65_536;
/// Fields of one template at most (real templates have a few dozen).
pub const MAX_FIELDS: usize = 128;
/// A template not refreshed for this long (ns) is dropped.
pub const TEMPLATE_TIMEOUT: u64 = 30 * 60 * 1_000_000_000;
/// An exporter not heard from for this long (ns) is dropped.
pub const EXPORTER_TIMEOUT: u64 = 60 * 60 * 1_000_000_000;
/// Sampling intervals one exporter keeps for samplers, selectors and
/// interfaces at most (its domain-wide interval besides).
pub const MAX_SAMPLERS: usize = 16;
/// A sequence number this far ahead is a restart, not lost flows.
const MAX_GAP: u32 = 1 << 20;

/// One exporter: its address, domain and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExporterKey {
    /// The datagram's source address.
    pub addr: IpAddr,
    /// Observation domain, source id, or v5 engine type << 8 | engine id.
    pub domain: u32,
    /// 5, 9 or 10.
    pub version: u16,
}

impl ExporterKey {
    /// The name shown on the status line and in `count`: the address, with
    /// `#N` for domain N > 0.
    pub fn name(&self) -> String {
        match self.domain {
            0 => self.addr.to_string(),
            n => format!("{}#{n}", self.addr),
        }
    }
}

/// What an options record's sampling interval applies to, by the options
/// template's scope and the sampler or selector id the record carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplingScope {
    /// Every flow of the exporter (its observation domain or source id):
    /// v9 scope System, IPFIX observationDomainId, exportingProcessId,
    /// meteringProcessId, or any scope a flow record cannot name.
    Domain,
    /// Flow records whose samplerId (48, v9 FLOW_SAMPLER_ID) is this.
    Sampler(u64),
    /// Flow records whose selectorId (302) is this.
    Selector(u64),
    /// Flow records whose ingressInterface (10, v9 INPUT_SNMP) is this: v9
    /// scope Interface, IPFIX scope ingressInterface.
    Ingress(u64),
    /// Flow records whose egressInterface (14) is this (IPFIX scope egressInterface).
    Egress(u64),
}

/// What a flow record names that a sampling scope can match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowScope {
    /// samplerId (48).
    pub sampler: Option<u64>,
    /// selectorId (302).
    pub selector: Option<u64>,
    /// ingressInterface (10).
    pub ingress: Option<u64>,
    /// egressInterface (14).
    pub egress: Option<u64>,
}

/// One exporter's figures for `count`'s JSON, shared with the report.
#[derive(Debug)]
pub struct ExporterFigures {
    /// [`ExporterKey::name`].
    pub name: String,
    /// NetFlow version.
    pub version: u16,
    /// Flow records counted (or skipped as not inbound).
    pub flows: AtomicU64,
    /// Packets they stand for, scaled by the sampling interval.
    pub packets: AtomicU64,
    /// Times its sequence number jumped ahead.
    pub sequence_gaps: AtomicU64,
    /// Its malformed datagrams.
    pub malformed: AtomicU64,
    /// Templates it holds now.
    pub templates: AtomicU64,
}

/// Every exporter's figures, in order of first contact (at most [`MAX_EXPORTERS`]).
#[derive(Debug, Default)]
pub struct FigureList(Mutex<Vec<Arc<ExporterFigures>>>);

impl FigureList {
    /// A copy of the list.
    pub fn all(&self) -> Vec<Arc<ExporterFigures>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn get(&self, key: &ExporterKey) -> Option<Arc<ExporterFigures>> {
        let name = key.name();
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = list.iter().find(|f| f.name == name && f.version == key.version) {
            return Some(f.clone());
        }
        if list.len() >= MAX_EXPORTERS {
            return None;
        }
        let f = Arc::new(ExporterFigures {
            name,
            version: key.version,
            flows: AtomicU64::new(0),
            packets: AtomicU64::new(0),
            sequence_gaps: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            templates: AtomicU64::new(0),
        });
        list.push(f.clone());
        Some(f)
    }
}

/// A template, as kept for decoding data sets.
#[derive(Clone, Debug)]
pub struct Template {
    /// Its fields in order (scope fields first in an options template).
    pub fields: Box<[FieldSpec]>,
    /// The shortest record (variable-length fields as 1 byte): > 0.
    pub min_len: usize,
    /// Scope fields of an options template (0 for a data template).
    pub scope_count: u16,
    /// Whether it is an options template.
    pub options: bool,
    refreshed: u64,
}

/// One tracked exporter.
#[derive(Debug)]
pub struct Exporter {
    /// Its status line entry (none past the peer table's cap).
    pub peer: Option<PeerHandle>,
    /// Its figures (none past the list's cap).
    pub figures: Option<Arc<ExporterFigures>>,
    /// The domain-wide sampling interval its options data last gave (v9 and IPFIX).
    pub sampling: Option<u32>,
    /// Intervals of its samplers, selectors and interfaces: the first
    /// `scoped_len` entries.
    scoped: [(SamplingScope, u32); MAX_SAMPLERS],
    scoped_len: usize,
    /// The sequence number the next datagram should carry.
    next_sequence: Option<u32>,
    templates: u32,
    last_seen: u64,
}

/// Why a template record was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// A template id under 256, more than [`MAX_FIELDS`] fields, or records of no bytes.
    Bad,
    /// The exporter's or the collector's template table is full.
    Full,
}

/// What a template record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defined {
    /// A new template.
    New,
    /// A template id defined again (replaced, or refreshed).
    Replaced,
    /// One template withdrawn (IPFIX), or all of a kind; how many went.
    Withdrawn(u32),
}

/// Every tracked exporter and template.
#[derive(Debug, Default)]
pub struct Tables {
    exporters: HashMap<ExporterKey, Exporter>,
    templates: HashMap<(ExporterKey, u16), Template>,
    figures: Arc<FigureList>,
    last_sweep: u64,
}

impl Tables {
    /// Empty tables whose exporters' figures go to `figures`.
    pub fn new(figures: Arc<FigureList>) -> Self {
        Tables {
            figures,
            ..Tables::default()
        }
    }

    /// Exporters tracked.
    pub fn exporters(&self) -> usize {
        self.exporters.len()
    }

    /// Templates held.
    pub fn templates(&self) -> usize {
        self.templates.len()
    }

    /// The exporter `key`, created on first contact (at `now`, ns); `None`
    /// when [`MAX_EXPORTERS`] are tracked and none has timed out.
    pub fn exporter(&mut self, key: ExporterKey, now: u64, peers: &PeerTable) -> Option<&mut Exporter> {
        if !self.exporters.contains_key(&key) {
            if self.exporters.len() >= MAX_EXPORTERS {
                self.sweep(now);
            }
            if self.exporters.len() >= MAX_EXPORTERS {
                return None;
            }
            let exporter = Exporter {
                peer: peers.peer(PeerKind::NetflowExporter, &key.name()),
                figures: self.figures.get(&key),
                sampling: None,
                scoped: [(SamplingScope::Domain, 1); MAX_SAMPLERS],
                scoped_len: 0,
                next_sequence: None,
                templates: 0,
                last_seen: now,
            };
            self.exporters.insert(key, exporter);
        }
        let e = self.exporters.get_mut(&key)?;
        e.last_seen = now;
        Some(e)
    }

    /// The exporter `key` if it is tracked (without touching it).
    pub fn get(&self, key: &ExporterKey) -> Option<&Exporter> {
        self.exporters.get(key)
    }

    /// Drops timed-out templates and exporters: once a minute, or once a
    /// second while a table is full (a sweep walks every entry, so a flood
    /// that keeps a table full must not make every datagram pay for one).
    pub fn sweep(&mut self, now: u64) {
        let full = self.exporters.len() >= MAX_EXPORTERS || self.templates.len() >= MAX_TEMPLATES;
        let every = if full { 1_000_000_000 } else { 60_000_000_000 };
        if now.saturating_sub(self.last_sweep) < every {
            return;
        }
        self.last_sweep = now;
        let exporters = &mut self.exporters;
        exporters.retain(|_, e| now.saturating_sub(e.last_seen) < EXPORTER_TIMEOUT);
        self.templates.retain(|(key, _), t| {
            let keep = now.saturating_sub(t.refreshed) < TEMPLATE_TIMEOUT;
            match exporters.get_mut(key) {
                Some(_) if keep => true,
                Some(e) => {
                    e.templates = e.templates.saturating_sub(1);
                    if let Some(f) = &e.figures {
                        f.templates.store(u64::from(e.templates), Relaxed);
                    }
                    false
                }
                None => false,
            }
        });
    }

    /// Applies a template record of exporter `key` (tracked) at `now`.
    pub fn define(
        &mut self,
        key: ExporterKey,
        record: &TemplateRecord<'_>,
        now: u64,
    ) -> Result<Defined, Refused> {
        let id = record.id;
        if record.is_withdrawal() {
            let gone = if id == 2 || id == 3 {
                // All data (2) or all options (3) templates of the exporter.
                let options = id == 3;
                let before = self.templates.len();
                self.templates
                    .retain(|(k, _), t| !(*k == key && t.options == options));
                (before - self.templates.len()) as u32
            } else {
                u32::from(self.templates.remove(&(key, id)).is_some())
            };
            self.count_templates(key, |n| n.saturating_sub(gone));
            return Ok(Defined::Withdrawn(gone));
        }
        if id < super::decode::FIRST_DATA_SET || usize::from(record.field_count) > MAX_FIELDS {
            return Err(Refused::Bad);
        }
        let fields: Box<[FieldSpec]> = record.fields().collect();
        let min_len = fields
            .iter()
            .map(|f| {
                if f.length == VARIABLE {
                    1
                } else {
                    usize::from(f.length)
                }
            })
            .sum::<usize>();
        if min_len == 0 || fields.len() != usize::from(record.field_count) {
            return Err(Refused::Bad);
        }
        let template = Template {
            fields,
            min_len,
            scope_count: record.scope_count,
            options: record.options,
            refreshed: now,
        };
        if let Some(t) = self.templates.get_mut(&(key, id)) {
            *t = template;
            return Ok(Defined::Replaced);
        }
        let held = self.exporters.get(&key).map_or(u32::MAX, |e| e.templates);
        if self.templates.len() >= MAX_TEMPLATES {
            self.sweep(now);
        }
        if held >= MAX_TEMPLATES_PER_EXPORTER || self.templates.len() >= MAX_TEMPLATES {
            return Err(Refused::Full);
        }
        self.templates.insert((key, id), template);
        self.count_templates(key, |n| n + 1);
        Ok(Defined::New)
    }

    fn count_templates(&mut self, key: ExporterKey, change: impl Fn(u32) -> u32) {
        if let Some(e) = self.exporters.get_mut(&key) {
            e.templates = change(e.templates);
            if let Some(f) = &e.figures {
                f.templates.store(u64::from(e.templates), Relaxed);
            }
        }
    }

    /// The template `id` of exporter `key`.
    pub fn template(&self, key: ExporterKey, id: u16) -> Option<&Template> {
        self.templates.get(&(key, id))
    }

    /// Notes a datagram's sequence number, `units` being what it carried
    /// (v5 and IPFIX: flow records, v9: 1 datagram); `None` when a count is
    /// unknown (a data set without its template) and the next datagram sets a
    /// new baseline. Returns whether it jumped ahead (a gap).
    pub fn sequence(&mut self, key: ExporterKey, sequence: u32, units: Option<u32>) -> bool {
        let Some(e) = self.exporters.get_mut(&key) else {
            return false;
        };
        let gap = match e.next_sequence {
            Some(expected) => {
                let ahead = sequence.wrapping_sub(expected);
                // Ahead by a plausible amount is a gap; behind, or far
                // ahead, is a late datagram or a restart: a new baseline.
                ahead != 0 && ahead <= MAX_GAP
            }
            None => false,
        };
        e.next_sequence = units.map(|n| sequence.wrapping_add(n));
        if gap && let Some(f) = &e.figures {
            f.sequence_gaps.fetch_add(1, Relaxed);
        }
        gap
    }
}

impl Exporter {
    /// Records `interval` for `scope`; `false` when it is a new sampler,
    /// selector or interface and [`MAX_SAMPLERS`] are kept already (what is
    /// there first stays).
    pub fn set_sampling(&mut self, scope: SamplingScope, interval: u32) -> bool {
        if scope == SamplingScope::Domain {
            self.sampling = Some(interval);
            return true;
        }
        let kept = &mut self.scoped[..self.scoped_len];
        if let Some(entry) = kept.iter_mut().find(|(s, _)| *s == scope) {
            entry.1 = interval;
            return true;
        }
        let Some(slot) = self.scoped.get_mut(self.scoped_len) else {
            return false;
        };
        *slot = (scope, interval);
        self.scoped_len += 1;
        true
    }

    /// The interval by which to scale a v9 or IPFIX flow record's packets:
    /// that of the sampler it names (samplerId, else selectorId), else of
    /// its ingress, else its egress interface, when the exporter declared
    /// one; else the exporter's domain-wide interval; else, when the
    /// exporter declared exactly one sampler or selector (and flow records
    /// that do not name it: RFC 3954's own example), that one's; 1 otherwise
    /// (unsampled, or which of several samplers is unknown).
    pub fn sampling_of(&self, flow: &FlowScope) -> u32 {
        let kept = &self.scoped[..self.scoped_len];
        if !kept.is_empty() {
            let named = [
                flow.sampler.map(SamplingScope::Sampler),
                flow.selector.map(SamplingScope::Selector),
                flow.ingress.map(SamplingScope::Ingress),
                flow.egress.map(SamplingScope::Egress),
            ];
            for scope in named.into_iter().flatten() {
                if let Some(&(_, interval)) = kept.iter().find(|(s, _)| *s == scope) {
                    return interval;
                }
            }
        }
        if let Some(interval) = self.sampling {
            return interval;
        }
        let mut samplers = kept
            .iter()
            .filter(|(s, _)| matches!(s, SamplingScope::Sampler(_) | SamplingScope::Selector(_)));
        match (samplers.next(), samplers.next()) {
            (Some(&(_, interval)), None) => interval,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test fixtures

    use std::net::Ipv4Addr;

    use super::*;
    use crate::source::netflow::craft;
    use crate::source::netflow::decode::{Datagram, Element};

    fn key(last: u8) -> ExporterKey {
        ExporterKey {
            addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
            domain: 0,
            version: 10,
        }
    }

    /// Applies every template record of an IPFIX message to `tables`.
    fn apply(tables: &mut Tables, k: ExporterKey, message: &[u8]) -> Vec<Result<Defined, Refused>> {
        let d = Datagram::parse(message).unwrap();
        let mut records = Vec::new();
        d.visit(&mut |e| {
            if let Element::Template(t) = e {
                records.push(t);
            }
        });
        records.iter().map(|t| tables.define(k, t, 0)).collect()
    }

    #[test]
    fn templates_are_bounded_per_exporter_and_withdrawn() {
        let peers = PeerTable::default();
        let mut tables = Tables::new(Arc::default());
        let k = key(1);
        tables.exporter(k, 0, &peers).unwrap();
        let ids: Vec<u16> = (256..=u16::MAX).collect();
        let mut new = 0;
        let mut full = 0;
        for chunk in ids.chunks(50) {
            let sets: Vec<Vec<u8>> = chunk
                .iter()
                .map(|&id| craft::template(id, &[(12, 4), (2, 4)]))
                .collect();
            let msg = craft::ipfix(0, 1, &[craft::set(2, &sets.concat())]);
            for r in apply(&mut tables, k, &msg) {
                match r {
                    Ok(Defined::New) => new += 1,
                    Err(Refused::Full) => full += 1,
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(new, MAX_TEMPLATES_PER_EXPORTER);
        assert_eq!(full, ids.len() as u32 - MAX_TEMPLATES_PER_EXPORTER);
        assert_eq!(tables.templates(), MAX_TEMPLATES_PER_EXPORTER as usize);
        // Withdraw one, then all data templates.
        let msg = craft::ipfix(0, 1, &[craft::set(2, &craft::template(256, &[]))]);
        assert_eq!(apply(&mut tables, k, &msg), [Ok(Defined::Withdrawn(1))]);
        let msg = craft::ipfix(0, 1, &[craft::set(2, &craft::template(2, &[]))]);
        assert_eq!(
            apply(&mut tables, k, &msg),
            [Ok(Defined::Withdrawn(MAX_TEMPLATES_PER_EXPORTER - 1))]
        );
        assert_eq!(tables.templates(), 0);
    }

    #[test]
    fn exporters_are_bounded_and_age_out() {
        let peers = PeerTable::default();
        let mut tables = Tables::new(Arc::default());
        for i in 0..MAX_EXPORTERS as u32 + 10 {
            let k = ExporterKey { domain: i, ..key(1) };
            let got = tables.exporter(k, 1, &peers).is_some();
            assert_eq!(got, (i as usize) < MAX_EXPORTERS, "{i}");
        }
        // An hour later the old ones have gone and a newcomer fits.
        let late = ExporterKey {
            domain: 1 << 30,
            ..key(2)
        };
        assert!(tables.exporter(late, EXPORTER_TIMEOUT + 2, &peers).is_some());
        assert_eq!(tables.exporters(), 1);
    }

    #[test]
    fn sequence_gaps_and_restarts() {
        let peers = PeerTable::default();
        let mut tables = Tables::new(Arc::default());
        let k = key(1);
        tables.exporter(k, 0, &peers).unwrap();
        assert!(!tables.sequence(k, 100, Some(5)));
        assert!(!tables.sequence(k, 105, Some(5)));
        assert!(tables.sequence(k, 120, Some(1)));
        // Behind: a restart, no gap; unknown count: no expectation.
        assert!(!tables.sequence(k, 3, None));
        assert!(!tables.sequence(k, 900, Some(1)));
        assert!(!tables.sequence(k, 901, Some(1)));
    }
}
