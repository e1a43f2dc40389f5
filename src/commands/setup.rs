//! Turning command-line values into the pieces a run needs, with errors worded
//! for the person at the console.

use anyhow::anyhow;

use crate::cli::CountingArgs;
use crate::counting::{Decay, DecayMode, HalfLife};
use crate::maps::{self, MapId};
use crate::parse::LocalNets;

/// The `--local` prefixes.
pub fn locals(texts: &[String]) -> anyhow::Result<LocalNets> {
    LocalNets::parse(texts).map_err(|e| anyhow!("{e}"))
}

/// The `--maps` list, or `default` without one.
pub fn maps(list: Option<&str>, default: Vec<MapId>) -> anyhow::Result<Vec<MapId>> {
    match list {
        Some(l) => maps::parse_list(l).map_err(|e| anyhow!("bad --maps: {e}")),
        None => Ok(default),
    }
}

/// The `--decay` rule with `--half-life`.
pub fn decay(args: &CountingArgs) -> anyhow::Result<Decay> {
    let mode = DecayMode::parse(&args.decay).map_err(|e| anyhow!(e))?;
    let half_life = HalfLife::parse(&args.half_life).map_err(|e| anyhow!(e))?;
    Ok(Decay { mode, half_life })
}

/// The `--baseline` half-life, or `None` for `off`.
pub fn baseline(args: &CountingArgs) -> anyhow::Result<Option<HalfLife>> {
    match args.baseline.trim() {
        "off" | "none" => Ok(None),
        t => HalfLife::parse(t)
            .map(Some)
            .map_err(|_| anyhow!("bad --baseline `{t}`: expected e.g. 10m, 1h or off")),
    }
}
