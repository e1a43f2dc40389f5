//! scanwall: real-time heat maps of network scans for a NOC video wall.
//!
//! Data flows in one direction, and the modules follow it:
//! [`source`] (files, streams, live capture, demo traffic) ->
//! [`parse`] (hostile packet bytes to a few header facts) ->
//! [`counting`] (sharded per-thread counters with decay on the packet clock) ->
//! [`session`] (open sources running into the counters), beside it
//! [`events`] (sampled packets to scan events with their sources) ->
//! [`display`] (the frame adapter: scales, status and hover words) ->
//! [`render`] (GPU colour-mapping and tiling of the maps) and the window in `ui`.
//! [`commands`] turn the command line ([`cli`]) into open sources
//! ([`source::open`]) and run them.
//! [`maps`] is the catalogue every stage shares.

pub mod cli;
pub mod commands;
pub mod config;
pub mod counting;
/// Packet builders for tests, benchmarks and fuzz seeds (feature `testing`: not in the shipped binary).
#[cfg(any(test, feature = "testing"))]
pub mod craft;
pub mod display;
pub mod duration;
pub mod events;
pub mod files;
/// The fuzz targets' bodies (feature `testing`: not in the shipped binary).
#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;
pub mod hilbert;
pub mod known;
pub mod logging;
pub mod maps;
pub mod metrics;
pub mod parse;
pub mod prefetch;
pub mod privilege;
pub mod render;
pub mod sensor;
pub mod session;
pub mod source;
pub mod ui;
pub mod utc;
