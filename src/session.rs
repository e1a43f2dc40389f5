//! A running session: counters plus the source threads that fill them.
//! The model half of the program: it knows packets, counters and sources,
//! nothing of windows, pixels or the command line. The sources come open
//! ([`crate::source::open`]); the session only runs them, says what "now" is
//! on their packet clock, and reports how they ended. What the wall draws from
//! a session is made in [`crate::display`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::counting::{Counters, FrameReader};
use crate::maps::MapId;
use crate::source::open::{OpenSource, SourceClock, SourceReport};
use crate::source::{SourceError, SourceStatus};

/// Counters being filled by source threads.
pub struct Session {
    counters: Arc<Counters>,
    statuses: Vec<Arc<SourceStatus>>,
    /// Per source (as `statuses`), the extra figures it keeps, if any.
    reports: Vec<Option<SourceReport>>,
    stop: Arc<AtomicBool>,
    threads: Vec<(String, JoinHandle<Result<(), SourceError>>)>,
    clock: SourceClock,
}

impl Session {
    /// Starts a thread for every body of `sources` (open already, and
    /// privileges dropped by the command), counting into `counters`.
    /// At least one source is needed.
    pub fn start(counters: Arc<Counters>, sources: Vec<OpenSource>) -> anyhow::Result<Session> {
        if sources.is_empty() {
            anyhow::bail!("no source to read");
        }
        // A live source's clock wins: it keeps the picture fading while quiet.
        let clock = sources
            .iter()
            .map(|s| s.clock.clone())
            .max_by_key(|c| match c {
                SourceClock::System => 2,
                SourceClock::Replay(_) => 1,
                SourceClock::LastPacket => 0,
            })
            .unwrap_or(SourceClock::LastPacket);
        let mut session = Session {
            counters,
            statuses: sources.iter().map(|s| s.status.clone()).collect(),
            reports: sources.iter().map(|s| s.report.clone()).collect(),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            clock,
        };
        for (name, body) in sources.into_iter().flat_map(OpenSource::into_bodies) {
            let stop = session.stop.clone();
            let thread = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || body(stop))
                .with_context(|| format!("cannot start the {name} thread"))?;
            // On an error the session is dropped, which stops the threads started.
            session.threads.push((name, thread));
        }
        Ok(session)
    }

    /// The counters this session fills.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Live facts about the (first) source.
    pub fn status(&self) -> &Arc<SourceStatus> {
        &self.statuses[0]
    }

    /// Live facts about every source, in the order they were given.
    pub fn statuses(&self) -> &[Arc<SourceStatus>] {
        &self.statuses
    }

    /// The extra figures each source keeps (sFlow, sensors), in the order
    /// of [`Session::statuses`].
    pub fn reports(&self) -> &[Option<SourceReport>] {
        &self.reports
    }

    /// The maps counted, in order.
    pub fn maps(&self) -> &[MapId] {
        self.counters.maps()
    }

    /// "Now" on the packet clock, for the frame side: the system clock for live
    /// sources, a paced replay's running clock until it ends, otherwise the
    /// latest packet's time. `None` before anything can be said.
    pub fn now(&self) -> Option<u64> {
        let last = self.counters.packet_clock();
        let running = match &self.clock {
            SourceClock::LastPacket => None,
            SourceClock::System => Some(now_ns()),
            SourceClock::Replay(_) if self.statuses.iter().all(|s| s.finished.load(Relaxed)) => None,
            SourceClock::Replay(c) => c.now(),
        };
        match (running, last) {
            (Some(r), Some(l)) => Some(r.max(l)),
            // Before the first packet there is nothing to decay.
            (_, None) => None,
            (None, l) => l,
        }
    }

    /// A frame reader of this session's maps.
    pub fn frame_reader(&self) -> FrameReader {
        FrameReader::new(self.counters.clone(), self.counters.maps().to_vec())
    }

    /// Asks the source threads to stop.
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// Waits for every source thread; the first error is returned. A thread
    /// that panicked is an error too: a source that died must never look
    /// like one that finished.
    pub fn wait(&mut self) -> Result<(), SourceError> {
        let mut first = Ok(());
        for (name, t) in self.threads.drain(..) {
            let r = t.join().unwrap_or(Err(SourceError::Panicked { thread: name }));
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop();
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting::Decay;
    use crate::parse::PacketFacts;

    fn counters() -> Arc<Counters> {
        Counters::new(vec![crate::maps::by_name("all").expect("all")], Decay::NONE)
    }

    /// A fake source: counts `packets` packets to one cell, then ends.
    fn fake(counters: &Arc<Counters>, packets: u64) -> OpenSource {
        let mut w = counters.writer();
        OpenSource::from_body(
            SourceStatus::new("fake", false),
            "fake",
            Box::new(move |_stop| {
                for i in 0..packets {
                    w.add(1_000 + i, &PacketFacts::default());
                }
                w.flush();
                Ok(())
            }),
        )
    }

    #[test]
    fn a_session_runs_the_sources_it_is_given() {
        let c = counters();
        let mut s = Session::start(c.clone(), vec![fake(&c, 5), fake(&c, 7)]).expect("start");
        assert!(s.wait().is_ok());
        assert_eq!(c.totals().packets, 12);
        assert_eq!(s.statuses().len(), 2);
        assert_eq!(s.now(), Some(1_006));
    }

    /// A panicked source thread is an error, named, never a success
    /// (`wait` used to turn it into `Ok`).
    #[test]
    fn a_panicked_source_is_an_error() {
        let c = counters();
        let boom = OpenSource::from_body(
            SourceStatus::new("boom", false),
            "boom",
            Box::new(|_stop| panic!("a source bug")),
        );
        let mut s = Session::start(c.clone(), vec![fake(&c, 1), boom]).expect("start");
        let e = s.wait().expect_err("a panic must surface");
        assert!(
            matches!(&e, SourceError::Panicked { thread } if thread == "boom"),
            "{e}"
        );
        assert!(!e.kept_earlier_records());
    }

    #[test]
    fn a_session_needs_a_source() {
        assert!(Session::start(counters(), Vec::new()).is_err());
    }
}
