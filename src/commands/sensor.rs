//! `scanwall sensor`: a headless agent for a capture host. It counts its
//! source (interfaces, or a file or the demo to try it out) into exact,
//! undecayed counters, exactly as `count` would, and keeps one uplink per
//! `--to` wall sending what changed every `--interval`. No window, no GPU.
//!
//! It runs until SIGINT or SIGTERM (a second one exits at once), `--duration`,
//! or the end of a `-r` file; then counting stops, every connected wall gets
//! the last delta and a goodbye, and one summary line says what was counted
//! and sent. A capture file is replayed only once every wall has connected,
//! so each wall gets all of it (a live source counts from the start and each
//! wall gets what is counted after it connected).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use super::sources::{Run, SourcePlan};
use crate::cli::SensorArgs;
use crate::counting::{Counters, Decay};
use crate::maps::{self, MapId};
use crate::sensor::delta::DeltaBuilder;
use crate::sensor::uplink::{Uplink, UplinkControl, UplinkState, WallAddr};
use crate::sensor::{SensorKey, wire};
use crate::session::Session;
use crate::source::SourceStatus;

/// How often the main thread looks at signals, the source and the uplinks.
const TICK: Duration = Duration::from_millis(10);

/// What the command line asks for, checked.
struct Plan {
    name: String,
    key: Arc<SensorKey>,
    walls: Vec<WallAddr>,
    interval: Duration,
    duration: Option<Duration>,
    sources: SourcePlan,
    maps: Vec<MapId>,
}

impl Plan {
    fn from_args(args: &SensorArgs) -> anyhow::Result<Plan> {
        if args.source.sensors_listen.is_some() {
            return Err(anyhow!(
                "scanwall sensor sends to walls: --sensors-listen belongs on the wall; name the walls with --to"
            ));
        }
        let path = args.source.key_file.as_deref().ok_or_else(|| {
            anyhow!(
                "scanwall sensor needs --key-file FILE, the secret shared with the walls (the same file as the wall's --key-file)"
            )
        })?;
        let key = Arc::new(SensorKey::load(path)?);
        let walls = args
            .to
            .iter()
            .map(|t| WallAddr::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!(e))?;
        let name = match &args.name {
            Some(n) if wire::sensor_name(n.as_bytes()).is_some() => n.clone(),
            Some(n) => {
                return Err(anyhow!(
                    "bad --name `{n}`: use 1 to {} printable ASCII characters without spaces, e.g. edge-1",
                    wire::MAX_NAME
                ));
            }
            None => host_name().ok_or_else(|| {
                anyhow!("the host name cannot be a sensor name: give --name, e.g. --name edge-1")
            })?,
        };
        Ok(Plan {
            name,
            key,
            walls,
            interval: args.interval,
            duration: args.duration,
            sources: SourcePlan::from_args(&args.source, Run::Live)?,
            maps: args
                .maps
                .as_ref()
                .map_or_else(maps::default_shown, |m| m.0.clone()),
        })
    }

    /// The file a replay reads, when the source is one.
    fn replay_file(&self) -> Option<&PathBuf> {
        self.sources.replay_file()
    }
}

/// The host's name, when it is a valid sensor name.
fn host_name() -> Option<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    let name = text.trim();
    wire::sensor_name(name.as_bytes()).map(str::to_string)
}

/// Why the main loop ended.
enum End {
    /// SIGINT, SIGTERM or `--duration`.
    Stopped,
    /// The source ended (a file or stream).
    SourceEnded,
    /// Every wall refused this sensor for good.
    AllRefused,
}

/// Runs the sensor (see the module documentation).
pub fn run(args: &SensorArgs) -> anyhow::Result<()> {
    let plan = Plan::from_args(args)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The first signal asks for an orderly stop; a second one exits at once.
        signal_hook::flag::register_conditional_shutdown(signal, 1, stop.clone())
            .and_then(|_| signal_hook::flag::register(signal, stop.clone()))
            .context("cannot install the SIGINT/SIGTERM handlers")?;
    }
    // Exact integer counts: deltas are differences of them.
    let counters = Counters::new(plan.maps.clone(), Decay::NONE);
    // Every source is opened (and root dropped) before any connection is made.
    let sources = plan.sources.open(&counters)?;
    let control = Arc::new(UplinkControl::default());
    // Each uplink takes the counts as they are now as its start: started
    // before counting, so it is sent everything counted.
    let uplinks = start_uplinks(&plan, &counters, &control)?;
    let mut session = None;
    let mut waiting = Some(sources);
    if plan.replay_file().is_none() {
        // Live sources count from the start; a file waits for the walls.
        match waiting.take().map(|s| Session::start(counters.clone(), s)) {
            Some(Ok(s)) => session = Some(s),
            Some(Err(e)) => {
                finish(&control, uplinks);
                return Err(e);
            }
            None => {}
        }
    }
    if let Some(path) = plan.replay_file() {
        log::info!(
            "sensor {}: replaying {} once every wall has connected",
            plan.name,
            path.display()
        );
    }
    let started = Instant::now();
    let end = loop {
        std::thread::sleep(TICK);
        if let Some(s) = &session {
            copy_drops(s.status(), &control);
        }
        if stop.load(Relaxed) || plan.duration.is_some_and(|d| started.elapsed() >= d) {
            break End::Stopped;
        }
        let states = || uplinks.iter().map(|(_, s, _)| s);
        if states().all(|s| s.gave_up.load(Relaxed)) {
            break End::AllRefused;
        }
        match &session {
            None => {
                let ready = states().all(|s| s.ever_connected.load(Relaxed) || s.gave_up.load(Relaxed));
                if let Some(sources) = waiting.take_if(|_| ready) {
                    match Session::start(counters.clone(), sources) {
                        Ok(s) => session = Some(s),
                        Err(e) => {
                            finish(&control, uplinks);
                            return Err(e);
                        }
                    }
                }
            }
            Some(s) if plan.sources.ends() => {
                let st = s.status();
                if st.finished.load(Relaxed) || st.error().is_some() {
                    break End::SourceEnded;
                }
            }
            Some(_) => {}
        }
    };
    // Counting stops first, so the last delta carries every count.
    let mut source_result = Ok(());
    if let Some(mut s) = session {
        s.stop();
        source_result = s.wait();
        copy_drops(s.status(), &control);
    }
    let packets = counters.totals().packets;
    let (sent, refusals) = finish(&control, uplinks);
    log::info!(
        "sensor {}: counted {packets} packets{}; {}",
        plan.name,
        match end {
            End::Stopped => "",
            End::SourceEnded => " (the source ended)",
            End::AllRefused => " (every wall refused it)",
        },
        sent.join(", ")
    );
    if let Err(e) = source_result {
        return Err(anyhow!("{e}"));
    }
    match refusals.into_iter().next() {
        Some(line) => Err(anyhow!("{line}")),
        None => Ok(()),
    }
}

/// An uplink thread with its state and wall.
type Running = (WallAddr, Arc<UplinkState>, JoinHandle<Result<(), String>>);

fn start_uplinks(
    plan: &Plan,
    counters: &Arc<Counters>,
    control: &Arc<UplinkControl>,
) -> anyhow::Result<Vec<Running>> {
    let mut running = Vec::new();
    for wall in &plan.walls {
        let state = Arc::new(UplinkState::default());
        let uplink = Uplink {
            wall: wall.clone(),
            name: plan.name.clone(),
            key: plan.key.clone(),
            interval: plan.interval,
            counters: counters.clone(),
            control: control.clone(),
            state: state.clone(),
            from: DeltaBuilder::now(counters),
        };
        let thread = std::thread::Builder::new()
            .name(format!("uplink {wall}"))
            .spawn(move || uplink.run());
        match thread {
            Ok(t) => running.push((wall.clone(), state, t)),
            Err(e) => {
                finish(control, running);
                return Err(anyhow!("cannot start a thread for wall {wall}: {e}"));
            }
        }
    }
    Ok(running)
}

/// Tells every uplink to send its last delta and waits for them; returns a
/// summary per wall and the refusals.
fn finish(control: &UplinkControl, uplinks: Vec<Running>) -> (Vec<String>, Vec<String>) {
    control.finish.store(true, Relaxed);
    let mut sent = Vec::new();
    let mut refusals = Vec::new();
    for (wall, state, thread) in uplinks {
        match thread.join() {
            Ok(Ok(())) => sent.push(format!(
                "wall {wall} took {} packets",
                state.packets_sent.load(Relaxed)
            )),
            Ok(Err(line)) => {
                sent.push(format!("wall {wall} refused it"));
                refusals.push(line);
            }
            Err(_) => sent.push(format!("wall {wall}: its uplink failed")),
        }
    }
    (sent, refusals)
}

/// Publishes the capture's drop totals to the uplinks.
fn copy_drops(status: &SourceStatus, control: &UplinkControl) {
    control
        .kernel_drops
        .store(status.kernel_drops.load(Relaxed), Relaxed);
    control
        .interface_drops
        .store(status.interface_drops.load(Relaxed), Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn sensor_args(args: &[&str]) -> SensorArgs {
        let mut all = vec!["scanwall", "sensor"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all) {
            Ok(Cli {
                command: Some(Command::Sensor(a)),
                ..
            }) => *a,
            Ok(_) => panic!("not the sensor command"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_command_line_is_read_like_the_walls() {
        let a = sensor_args(&[
            "-i",
            "eth1",
            "-i",
            "eth2",
            "--to",
            "wall1",
            "--to",
            "wall2:9000",
            "--key-file",
            "k",
            "--local",
            "192.0.2.0/24",
            "tcp",
            "or",
            "udp",
        ]);
        assert_eq!(a.source.interface, ["eth1", "eth2"]);
        assert_eq!(a.to, ["wall1", "wall2:9000"]);
        assert_eq!(a.interval, Duration::from_millis(100));
        assert_eq!(a.source.filter.filter_expression().as_deref(), Some("tcp or udp"));
        assert!(
            Cli::try_parse_from(["scanwall", "sensor", "--demo"]).is_err(),
            "--to is required"
        );
    }

    #[test]
    fn bad_options_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("key");
        std::fs::write(&key, "0123456789abcdef0123").expect("write");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let k = key.to_str().expect("utf-8");
        let err = |args: &[&str]| match Plan::from_args(&sensor_args(args)) {
            Ok(_) => panic!("accepted {args:?}"),
            Err(e) => e.to_string(),
        };
        let e = err(&["--demo", "--to", "w"]);
        assert!(e.contains("--key-file"), "{e}");
        let e = Cli::try_parse_from(["scanwall", "sensor", "--demo", "--to", "w", "--interval", "1m"])
            .expect_err("an interval over 10s")
            .to_string();
        assert!(e.contains("10ms to 10s"), "{e}");
        let e = err(&["--demo", "--to", "w", "--key-file", k, "--name", "two words"]);
        assert!(e.contains("--name"), "{e}");
        let e = err(&["--demo", "--to", "w:x", "--key-file", k]);
        assert!(e.contains("--to"), "{e}");
        let e = err(&["--sensors-listen", "7311", "--to", "w", "--key-file", k]);
        assert!(e.contains("belongs on the wall"), "{e}");
        let plan = Plan::from_args(&sensor_args(&[
            "--demo",
            "--to",
            "w",
            "--key-file",
            k,
            "--name",
            "edge-1",
        ]))
        .expect("a good plan");
        assert_eq!(plan.walls[0].port, crate::sensor::DEFAULT_PORT);
        assert!(!plan.sources.ends());
    }
}
