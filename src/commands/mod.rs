//! The subcommands' bodies; `main.rs` only parses and dispatches.

pub mod count;
pub mod setup;
pub mod snapshot;
