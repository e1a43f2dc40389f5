//! Many capture hosts, one wall: `scanwall sensor` counts on a capture host
//! and sends compact counter deltas over TCP; a wall started with
//! `--sensors-listen` merges every sensor's deltas into its own maps.
//!
//! The protocol is specified in `docs/sensor-protocol.md`. The pieces:
//! [`wire`] (the bytes, no I/O), [`auth`] (the key file and the
//! challenge-response), [`conn`] (frames over TCP), [`delta`] (what a sensor
//! sends: counts since the last delta), [`uplink`] (a sensor's link to one
//! wall, with back-off), [`merge`] and [`listen`] (the wall's side), and
//! [`fuzz`] (the fuzz target's body).

pub mod auth;
pub mod conn;
pub mod delta;
pub mod fuzz;
pub mod listen;
pub mod merge;
pub mod uplink;
pub mod wire;

pub use auth::SensorKey;
pub use uplink::DEFAULT_PORT;

use std::sync::Arc;

use crate::cli::SourceArgs;

/// The key a wall started with `--sensors-listen` checks sensors against
/// (`--key-file`, required), refusing options that belong on the sensors.
pub fn wall_key(source: &SourceArgs) -> anyhow::Result<Arc<SensorKey>> {
    if !source.local.is_empty() || source.filter.filter_expression().is_some() {
        return Err(anyhow::anyhow!(
            "--sensors-listen: --local and BPF filters apply where packets are captured; give them to `scanwall sensor`"
        ));
    }
    let path = source.key_file.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "--sensors-listen needs --key-file FILE, the secret its sensors share; create one with: head -c 32 /dev/urandom | base64 > FILE && chmod 600 FILE"
        )
    })?;
    Ok(Arc::new(SensorKey::load(path)?))
}
