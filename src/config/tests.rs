//! `--config` end to end through [`try_parse_from`], and the merging and
//! explaining parts on their own.

#![allow(clippy::unwrap_used)] // tests: a failed set-up should fail the test

use std::path::Path;

use clap::error::ErrorKind;

use super::explain::{edit_distance, suggestion};
use super::merge::{parse_table, tokens};
use super::*;

fn net(text: &str) -> ipnet::IpNet {
    text.parse().expect("a prefix")
}

fn half_life(text: &str) -> crate::counting::HalfLife {
    crate::counting::HalfLife::parse(text).expect("a half-life")
}

fn map_list(text: &str) -> crate::cli::MapList {
    crate::cli::MapList(crate::maps::parse_list(text).expect("maps"))
}
use crate::cli::Command as Sub;

/// Parses `args` with `toml` written to `dir/name`; `CFG` in `args` becomes its path.
fn parse_with(name: &str, toml: &str, args: &[&str]) -> Result<Cli, ParseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, toml).unwrap();
    let path = path.to_str().unwrap().to_owned();
    let args: Vec<String> = std::iter::once("scanwall")
        .chain(args.iter().copied())
        .map(|a| if a == "CFG" { path.clone() } else { a.to_owned() })
        .collect();
    try_parse_from(args)
}

fn config_error(r: Result<Cli, ParseError>) -> String {
    match r {
        Err(ParseError::Config(e)) => e.to_string(),
        Err(ParseError::Clap(e)) => panic!("clap error, not a config error: {e}"),
        Ok(cli) => panic!("parsed: {cli:?}"),
    }
}

fn count(cli: Cli) -> Box<crate::cli::CountArgs> {
    match cli.command {
        Some(Sub::Count(c)) => c,
        other => panic!("not count: {other:?}"),
    }
}

#[test]
fn file_keys_fill_in_the_wall_and_missing_keys_keep_defaults() {
    let toml = r#"
            # a kiosk wall
            interface = ["eth1", "eth2"]
            local = "10.0.0.0/8"
            half-life = "20s"
            fullscreen = true
            presenter = false
            monitor = 1
            fps = 24.5
            wall-grid = "3x2"
            filter = "tcp or udp"
        "#;
    let cli = parse_with("wall.toml", toml, &["--config", "CFG"]).unwrap();
    let w = cli.wall;
    assert_eq!(w.source.interface, ["eth1", "eth2"]);
    assert_eq!(w.source.local, [net("10.0.0.0/8")]);
    assert_eq!(w.counting.half_life, half_life("20s"));
    assert!(w.fullscreen);
    assert!(!w.view.presenter);
    assert_eq!(w.monitor, Some(1));
    assert_eq!(w.fps, 24.5);
    assert_eq!(w.source.filter.filter_expression().as_deref(), Some("tcp or udp"));
    // Not in the file: clap's defaults.
    assert_eq!(w.counting.decay, crate::counting::DecayMode::Exponential);
    assert_eq!(w.source.snaplen, 128);
}

#[test]
fn the_command_line_overrides_the_file_and_replaces_its_lists() {
    let toml = "half-life = \"20s\"\nlocal = [\"10.0.0.0/8\", \"192.0.2.0/24\"]\nmaps = \"syn\"\n";
    let cli = parse_with(
        "wall.toml",
        toml,
        &[
            "--half-life",
            "5s",
            "--config",
            "CFG",
            "--local",
            "198.51.100.0/24",
        ],
    )
    .unwrap();
    assert_eq!(cli.wall.counting.half_life, half_life("5s"));
    assert_eq!(cli.wall.source.local, [net("198.51.100.0/24")]);
    assert_eq!(cli.wall.counting.maps, Some(map_list("syn")));
}

#[test]
fn subcommands_read_their_own_options_and_the_file_can_give_required_ones() {
    let toml = "read = \"capture.pcap\"\nformat = \"json\"\nmaps = \"syn,synport\"\n";
    let c = count(parse_with("count.toml", toml, &["count", "--config", "CFG"]).unwrap());
    assert_eq!(c.source.read.as_deref(), Some(Path::new("capture.pcap")));
    assert_eq!(c.format, crate::cli::CountFormat::Json);
    assert_eq!(c.maps, Some(map_list("syn,synport")));
    let c = count(
        parse_with(
            "count.toml",
            toml,
            &["count", "--config", "CFG", "--format", "csv"],
        )
        .unwrap(),
    );
    assert_eq!(c.format, crate::cli::CountFormat::Csv);
}

#[test]
fn a_command_line_source_drops_the_files_conflicting_one() {
    let toml = "interface = [\"eth1\"]\nlocal = [\"10.0.0.0/8\"]\n";
    let cli = parse_with("wall.toml", toml, &["--config", "CFG", "-r", "x.pcap"]).unwrap();
    assert_eq!(cli.wall.source.read.as_deref(), Some(Path::new("x.pcap")));
    assert!(cli.wall.source.interface.is_empty());
    assert_eq!(cli.wall.source.local, [net("10.0.0.0/8")]);
    let cli = parse_with("wall.toml", toml, &["--config", "CFG", "--demo"]).unwrap();
    assert!(cli.wall.source.demo && cli.wall.source.interface.is_empty());
}

#[test]
fn trailing_filter_words_replace_the_files_filter() {
    let toml = "filter = \"not port 22\"\n";
    let cli = parse_with("wall.toml", toml, &["--config", "CFG", "udp"]).unwrap();
    assert_eq!(cli.wall.source.filter.filter_expression().as_deref(), Some("udp"));
    let cli = parse_with("wall.toml", toml, &["--config", "CFG", "-f", "icmp"]).unwrap();
    assert_eq!(
        cli.wall.source.filter.filter_expression().as_deref(),
        Some("icmp")
    );
}

/// The tokens for `toml` against `cmd` with `args` on the command line.
fn tokens_for(cmd: &Command, toml: &str, args: &[&str]) -> Result<Vec<String>, ConfigError> {
    let given = cmd
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(std::iter::once("x").chain(args.iter().copied()))
        .unwrap();
    let table = parse_table(toml, "wall.toml")?;
    Ok(tokens(cmd, &given, &table, "wall.toml", "scanwall")?
        .into_iter()
        .flat_map(|(_, t)| t)
        .map(|t| t.to_string_lossy().into_owned())
        .collect())
}

#[test]
fn unknown_keys_name_the_key_the_file_and_the_help() {
    let e = tokens_for(&command(), "hlaf-life = \"10s\"", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown key 'hlaf-life' in wall.toml; see scanwall --help for option names \
         (did you mean 'half-life'?)"
    );
    let e = tokens_for(&command(), "colour = 1", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown key 'colour' in wall.toml; see scanwall --help for option names"
    );
    // Subcommand paths are named; help is no key.
    let e = config_error(parse_with("c.toml", "help = true", &["count", "--config", "CFG"]));
    assert!(
        e.starts_with("unknown key 'help' in ") && e.contains("see scanwall count --help"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_the_key_and_what_it_takes() {
    let cases = [
        (
            "fullscreen = \"yes\"",
            "key 'fullscreen' in wall.toml has the wrong type (string); expected true or false",
        ),
        (
            "maps = [\"syn\", \"udp\"]",
            "key 'maps' in wall.toml has the wrong type (array); expected a single LIST value (a string or a number)",
        ),
        (
            "local = [[\"10.0.0.0/8\"]]",
            "key 'local' in wall.toml has the wrong type (array); expected a list of CIDR values, e.g. local = [\"...\", \"...\"]",
        ),
        (
            "layout = 1979-05-27",
            "key 'layout' in wall.toml has the wrong type (datetime); expected a single LAYOUT value (a string or a number)",
        ),
        (
            "[view]\nlayout = \"focus\"",
            "key 'view' in wall.toml has the wrong type (table); expected a single VIEW value (a string or a number)",
        ),
    ];
    for (toml, want) in cases {
        assert_eq!(tokens_for(&command(), toml, &[]).unwrap_err().to_string(), want);
    }
}

#[test]
fn values_the_option_rejects_name_the_key_and_file() {
    let e = config_error(parse_with(
        "c.toml",
        "format = \"xml\"",
        &["count", "--config", "CFG", "-r", "x"],
    ));
    assert!(
        e.starts_with("key 'format' in ") && e.contains("c.toml has the wrong value \"xml\""),
        "{e}"
    );
    assert!(e.ends_with("expected one of: csv, json"), "{e}");
    let e = config_error(parse_with(
        "wall.toml",
        "monitor = \"left\"",
        &["--config", "CFG"],
    ));
    assert!(
        e.contains("key 'monitor' in ") && e.contains("wrong value \"left\"; expected N ("),
        "{e}"
    );
    let e = config_error(parse_with("wall.toml", "layout = true", &["--config", "CFG"]));
    assert!(
        e.contains("key 'layout' in ") && e.contains("wrong value \"true\"; expected LAYOUT"),
        "{e}"
    );
    let e = config_error(parse_with("wall.toml", "monitor = -1", &["--config", "CFG"]));
    assert!(
        e.contains("key 'monitor' in ") && e.contains("wrong value \"-1\""),
        "{e}"
    );
}

#[test]
fn conflicts_inside_the_file_name_the_file() {
    let e = config_error(parse_with(
        "wall.toml",
        "read = \"a.pcap\"\ninterface = [\"eth0\"]\n",
        &["--config", "CFG"],
    ));
    assert!(
        e.contains("cannot be used with") && e.contains("wall.toml); fix "),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
}

#[test]
fn command_line_mistakes_stay_clap_errors() {
    match parse_with("wall.toml", "fps = 10", &["--config", "CFG", "--hlaf-life", "1s"]) {
        Err(ParseError::Clap(e)) => assert_eq!(e.kind(), ErrorKind::UnknownArgument),
        other => panic!("{other:?}"),
    }
    match parse_with("wall.toml", "fps = 10", &["--config", "CFG", "--help"]) {
        Err(ParseError::Clap(e)) => assert_eq!(e.kind(), ErrorKind::DisplayHelp),
        other => panic!("{other:?}"),
    }
}

#[test]
fn config_inside_a_config_file_is_refused() {
    let e = tokens_for(&command(), "config = \"other.toml\"", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "key 'config' in wall.toml cannot be set in a config file; remove it"
    );
}

#[test]
fn syntax_errors_give_the_position_on_one_line() {
    let e = parse_table("fps = 30\nhalf-life = \n", "wall.toml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("wall.toml:2:"), "{e}");
    assert!(e.contains("not valid TOML") && e.lines().count() == 1, "{e}");
}

#[test]
fn a_missing_file_says_which_and_what_to_check() {
    let e = config_error(try_parse_from(["scanwall", "--config", "/nonexistent/wall.toml"]));
    assert!(
        e.starts_with("cannot read config file /nonexistent/wall.toml: "),
        "{e}"
    );
    assert!(e.ends_with("check the path given to --config"), "{e}");
}

#[test]
fn an_option_added_to_the_definition_needs_no_code_here() {
    let cmd = Command::new("x")
        .arg(
            Arg::new("sensors-listen")
                .long("sensors-listen")
                .action(ArgAction::Set),
        )
        .arg(Arg::new("to").long("to").action(ArgAction::Append))
        .arg(Arg::new("verbose").long("verbose").action(ArgAction::Count));
    let toml = "sensors-listen = \"0.0.0.0:7311\"\nto = [\"a:1\", \"b:2\"]\nverbose = 2\n";
    assert_eq!(
        tokens_for(&cmd, toml, &[]).unwrap(),
        [
            "--sensors-listen=0.0.0.0:7311",
            "--to=a:1",
            "--to=b:2",
            "--verbose",
            "--verbose"
        ]
    );
    assert_eq!(tokens_for(&cmd, toml, &["--to", "c:3"]).unwrap().len(), 3);
}

#[test]
fn every_option_of_every_configurable_command_can_come_from_a_file() {
    let mut cmd = command();
    cmd.build();
    let mut commands = vec![&cmd];
    commands.extend(
        cmd.get_subcommands()
            .filter(|s| s.get_arguments().any(|a| a.get_id() == CONFIG)),
    );
    assert!(commands.len() >= 4, "the wall, count, snapshot, generate");
    for c in commands {
        for arg in c.get_arguments().filter(|a| a.get_long().is_some()) {
            let settable = matches!(
                arg.get_action(),
                ArgAction::Set
                    | ArgAction::Append
                    | ArgAction::SetTrue
                    | ArgAction::SetFalse
                    | ArgAction::Count
            );
            let printing = matches!(arg.get_action(), ArgAction::Help | ArgAction::Version);
            assert!(
                settable || printing,
                "{} --{:?}: action {:?}",
                c.get_name(),
                arg.get_long(),
                arg.get_action()
            );
        }
    }
    assert!(
        cmd.find_subcommand("count")
            .is_some_and(|c| c.get_arguments().any(|a| a.get_id() == CONFIG))
    );
}

#[test]
fn the_definition_with_config_is_consistent() {
    command().debug_assert();
}

#[test]
fn suggestions_catch_typos_and_underscores() {
    assert_eq!(edit_distance("hlaf-life", "half-life"), 1);
    assert_eq!(
        suggestion(&command(), "half_life"),
        " (did you mean 'half-life'?)"
    );
    assert_eq!(suggestion(&command(), "zzzzzz"), "");
}

/// `capture-threads` in a file goes with the file's interfaces: a source given
/// on the command line (`-r`) drops it with them rather than being refused.
#[test]
fn capture_threads_in_a_file_apply_to_its_interfaces_only() {
    let toml = "interface = [\"eth1\"]\ncapture-threads = 4\nbuffer-mb = 64\n";
    let cli = parse_with("wall.toml", toml, &["--config", "CFG"]).unwrap();
    assert_eq!(cli.wall.source.capture_threads, 4);
    assert_eq!(cli.wall.source.buffer_mb, 64);
    let cli = parse_with("wall.toml", toml, &["--config", "CFG", "-r", "x.pcap"]).unwrap();
    assert_eq!(cli.wall.source.capture_threads, 1);
    assert!(cli.wall.source.interface.is_empty());
}
