//! The subcommands' bodies; `main.rs` only parses and dispatches. Each one
//! opens its sources through [`sources`], drops privileges there once, and
//! runs a [`crate::session::Session`] or its own loop.

pub mod count;
pub mod docs_gen;
pub mod events;
pub mod generate;
pub mod sensor;
pub mod snapshot;
pub mod soak;
pub mod sources;
pub mod wall;

use std::sync::Arc;

use crate::cli::CountingArgs;
use crate::counting::{Counters, Decay};
use crate::maps;

/// The counters `--maps`, `--decay`, `--half-life` and `--baseline` ask for
/// (the wall's six maps without `--maps`).
pub fn counters(counting: &CountingArgs) -> Arc<Counters> {
    let shown = counting
        .maps
        .as_ref()
        .map_or_else(maps::default_shown, |m| m.0.clone());
    let decay = Decay {
        mode: counting.decay,
        half_life: counting.half_life,
    };
    Counters::with_baseline(shown, decay, counting.baseline.0)
}
