//! Scan events: the lines and blocks on the maps, found on the packet clock,
//! with the sources that drew them.
//!
//! Data flow: each capture thread's [`Sampler`] (beside its shard writer)
//! hands sampled packets with their addresses to a [`SampleHub`]; a
//! [`Detector`] turns them, tick by tick of packet time, into [`Event`]s;
//! [`EventWatch`] runs the detector for the wall, `snapshot` and the
//! `events` command, and shares what it finds with the screen, the metrics
//! and the events log.

mod detect;
mod event;
mod sample;
mod top;
mod watch;

pub use detect::{Change, Detector, DetectorConfig};
pub use event::{Axis, Event, EventKind, human, rfc3339};
pub use sample::{DEFAULT_BUDGET, Overflow, Sample, SampleHub, Sampler, Watermark};
pub use top::TopN;
pub use watch::{BoardState, EventBoard, EventLog, EventWatch, PinAnswer, PinQuery, RunningWatch};
