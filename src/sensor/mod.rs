//! Many capture hosts, one wall: `scanwall sensor` counts on a capture host
//! and sends compact counter deltas over TCP; a wall started with
//! `--sensors-listen` merges every sensor's deltas into its own maps.
//!
//! The protocol is specified in `docs/sensor-protocol.md`. The pieces:
//! [`wire`] (the bytes, no I/O), [`auth`] (the key file), [`secure`] (the
//! Noise handshake and sealed records: what the key proves and protects),
//! [`conn`] (frames over TCP, sealed after the handshake), [`delta`] (what a
//! sensor sends: counts since the last delta), [`uplink`] (a sensor's link to
//! one wall, with back-off), [`merge`] and [`listen`] (the wall's side), and
//! `fuzz` (the fuzz targets' bodies, with the `testing` feature).

pub mod auth;
pub mod conn;
pub mod delta;
#[cfg(any(test, feature = "testing"))]
pub mod fuzz;
pub mod listen;
pub mod merge;
pub mod secure;
pub mod uplink;
pub mod wire;

pub use auth::SensorKey;
pub use uplink::DEFAULT_PORT;
