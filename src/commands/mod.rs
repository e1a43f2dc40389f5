//! The subcommands' bodies; `main.rs` only parses and dispatches.

pub mod count;
pub mod docs_gen;
pub mod generate;
pub mod sensor;
pub mod setup;
pub mod snapshot;
pub mod soak;
pub mod wall;
