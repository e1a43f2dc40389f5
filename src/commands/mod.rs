//! The subcommands' bodies; `main.rs` only parses and dispatches.

pub mod count;
pub mod generate;
pub mod setup;
pub mod snapshot;
pub mod wall;
