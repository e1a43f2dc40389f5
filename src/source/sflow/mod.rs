//! `--sflow [HOST:]PORT`: scanwall as an sFlow v5 collector. Switches and
//! routers sample 1 in N packets and send the first bytes of each (a
//! `sampled_header`) over UDP; each sample is parsed by the same packet
//! parser as a capture and counted N times, so the maps show the traffic the
//! switch saw, not the 1/N of it that was sampled.
//!
//! One job per module: [`decode`] walks a datagram (no I/O), [`agents`]
//! keeps each agent's sequence and drop counters, [`ingest`] counts a
//! datagram into the maps, [`collector`] is the UDP thread (its loop and
//! socket shared with NetFlow), [`report`] is what `count` prints; [`craft`] builds datagrams for
//! tests, benchmarks and fuzz seeds, and [`fuzz`] is the fuzz target's body.

pub mod agents;
pub mod collector;
#[cfg(any(test, feature = "testing"))]
pub mod craft;
pub mod decode;
#[cfg(any(test, feature = "testing"))]
pub mod fuzz;
pub mod ingest;
pub mod report;

pub use collector::{DEFAULT_PORT, SflowCollector};
pub use ingest::{SflowIngest, SflowStats};
pub use report::SflowReport;
