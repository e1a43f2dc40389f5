//! `--netflow [HOST:]PORT`: scanwall as a NetFlow v5, NetFlow v9 and IPFIX
//! collector. Routers and switches sum the packets of each flow and send a
//! record per flow over UDP; each record is counted into the maps as its
//! packets (scaled by the exporter's sampling interval), by the counting
//! rules wherever a flow record carries what they need.
//!
//! One job per module, as for sFlow: [`decode`] walks a datagram (no I/O),
//! [`templates`] keeps each exporter's templates, sampling and sequence
//! (bounded), [`ingest`] counts a datagram into the maps, [`collector`] is
//! the UDP thread (the sFlow collector's receive loop and socket), [`report`]
//! is what `count` prints; [`craft`] builds datagrams for tests, benchmarks
//! and fuzz seeds, and [`fuzz`] is the fuzz target's body.

pub mod collector;
#[cfg(any(test, feature = "testing"))]
pub mod craft;
pub mod decode;
#[cfg(any(test, feature = "testing"))]
pub mod fuzz;
pub mod ingest;
pub mod report;
pub mod templates;

pub use collector::{DEFAULT_PORT, NetflowCollector};
pub use ingest::{NetflowIngest, NetflowStats};
pub use report::NetflowReport;
