//! End-to-end: `--config FILE` through the real binary (file values applied,
//! the command line overriding them, errors naming key and file), the sample
//! configs and units under `docs/`, and the generated completions and man page.

#![allow(clippy::unwrap_used)] // test setup: a failure to write a fixture should fail the test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scanwall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(args)
        .output()
        .expect("run scanwall")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// One line on standard error naming everything in `needles`, exit status 1.
fn one_line_error(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in: {err}");
    }
}

/// Demo traffic (destinations in 127.20.0.0/16) as a classic pcap file.
fn demo_capture(dir: &Path) -> PathBuf {
    let path = dir.join("demo.pcap");
    stdout(&scanwall(&[
        "generate",
        "-o",
        path.to_str().unwrap(),
        "--packets",
        "3000",
    ]));
    path
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The map names of `count`'s CSV output.
fn csv_maps(csv: &str) -> Vec<String> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("map,key,count"), "{csv}");
    let mut maps: Vec<String> = lines.map(|l| l.split(',').next().unwrap().to_owned()).collect();
    maps.dedup();
    maps
}

#[test]
fn count_takes_its_options_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let capture = demo_capture(dir.path());
    let capture = capture.to_str().unwrap();
    let config = write(
        dir.path(),
        "count.toml",
        "maps = \"syn,synport\"\nformat = \"json\"\nlocal = [\"127.20.0.0/16\"]\n",
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&scanwall(&["count", "--config", &config, "-r", capture]))).unwrap();
    let maps: Vec<&String> = json["maps"].as_object().unwrap().keys().collect();
    assert_eq!(maps, ["syn", "synport"]);
    assert!(
        json["maps"]["syn"].as_object().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
    assert_eq!(json["skipped"]["not_inbound"], 0, "{json}");
}

#[test]
fn the_command_line_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let capture = demo_capture(dir.path());
    let config = write(
        dir.path(),
        "count.toml",
        &format!(
            "read = {:?}\nmaps = \"syn,synport\"\nformat = \"json\"\nlocal = [\"127.20.0.0/16\"]\n",
            capture.to_str().unwrap()
        ),
    );
    // The file gives the required `read`; the command line the format and maps.
    let csv = stdout(&scanwall(&[
        "count", "--config", &config, "--format", "csv", "--maps", "udp",
    ]));
    assert_eq!(csv_maps(&csv), ["udp"]);
    // A list on the command line replaces the file's: nothing is inbound to 10/8.
    let out = scanwall(&["count", "--config", &config, "--local", "10.0.0.0/8"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        json["maps"]["syn"].as_object().is_some_and(|m| m.is_empty()),
        "{json}"
    );
    assert_eq!(json["skipped"]["not_inbound"], json["packets"], "{json}");
}

#[test]
fn a_bad_file_is_one_line_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let typo = write(dir.path(), "wall.toml", "hlaf-life = \"10s\"\n");
    one_line_error(
        &scanwall(&["--config", &typo]),
        &[
            "unknown key 'hlaf-life' in ",
            "wall.toml; see scanwall --help for option names",
            "'half-life'",
        ],
    );
    let typo = write(dir.path(), "count.toml", "fromat = \"json\"\n");
    one_line_error(
        &scanwall(&["count", "--config", &typo, "-r", "x.pcap"]),
        &[
            "unknown key 'fromat' in ",
            "count.toml",
            "scanwall count --help",
            "'format'",
        ],
    );
    let wrong = write(dir.path(), "types.toml", "format = [\"json\"]\n");
    one_line_error(
        &scanwall(&["count", "--config", &wrong, "-r", "x.pcap"]),
        &["key 'format' in ", "types.toml", "wrong type (array)", "csv|json"],
    );
    let value = write(dir.path(), "value.toml", "format = \"xml\"\n");
    one_line_error(
        &scanwall(&["count", "--config", &value, "-r", "x.pcap"]),
        &["key 'format' in ", "value.toml", "\"xml\"", "one of: csv, json"],
    );
    let nested = write(dir.path(), "nested.toml", "config = \"other.toml\"\n");
    one_line_error(
        &scanwall(&["--config", &nested]),
        &["key 'config' in ", "nested.toml", "cannot be set"],
    );
    one_line_error(
        &scanwall(&["snapshot", "--config", "/nonexistent/s.toml", "-o", "x.png"]),
        &["cannot read config file /nonexistent/s.toml", "--config"],
    );
}

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
}

fn docs_files(ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(docs())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// The command a sample config is for: `wall.toml` the wall, `NAME.toml` the
/// subcommand NAME.
fn command_for(sample: &Path) -> Vec<String> {
    let name = sample.file_stem().unwrap().to_str().unwrap();
    let mut args = vec!["scanwall".to_owned()];
    if name != "wall" {
        args.push(name.to_owned());
    }
    args.extend(["--config".to_owned(), sample.to_str().unwrap().to_owned()]);
    args
}

#[test]
fn every_sample_config_parses_for_its_command() {
    let samples = docs_files("toml");
    let names: Vec<&str> = samples
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap())
        .collect();
    assert!(names.contains(&"wall") && names.contains(&"sensor"), "{names:?}");
    for sample in &samples {
        let args = command_for(sample);
        if let Err(e) = scanwall::config::try_parse_from(&args) {
            panic!("{args:?}: {e:?}");
        }
    }
    let wall = scanwall::config::try_parse_from(command_for(&docs().join("wall.toml"))).unwrap();
    assert!(wall.command.is_none());
    let w = wall.wall;
    assert_eq!(w.source.interface, ["eth1", "eth2"]);
    assert!(w.fullscreen && !w.source.local.is_empty());
    assert_eq!(w.present_interval, Some(std::time::Duration::from_secs(20)));
    assert!(w.view.wall_grid.is_some() && w.counting.maps.is_some());

    // The commented alternative to `interface` (remote sensors), done as its
    // comment says, is valid too, and the wall accepts it as a source.
    let text = std::fs::read_to_string(docs().join("wall.toml")).unwrap();
    let alternative: String = text
        .lines()
        .filter(|l| {
            !["interface =", "filter =", "local ="]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| match l.strip_prefix("#   ") {
            Some(key) if key.starts_with("sensors-listen =") || key.starts_with("key-file =") => key,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(alternative.contains("\nsensors-listen = "), "{alternative}");
    let dir = tempfile::tempdir().unwrap();
    // The key the sample names, here in a file of the test's own.
    let key = write(dir.path(), "wall.key", "a test key of thirty-two bytes..\n");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let alternative = alternative.replace("\"/etc/scanwall/wall.key\"", &format!("{key:?}"));
    let path = write(dir.path(), "wall.toml", &alternative);
    let w = scanwall::config::try_parse_from(["scanwall", "--config", &path])
        .unwrap()
        .wall;
    assert!(w.source.interface.is_empty() && w.source.sensors_listen.is_some());
    use scanwall::commands::sources::{Run, SourcePlan};
    if let Err(e) = SourcePlan::from_args(&w.source, Run::Live) {
        panic!("the wall refuses the sensors alternative of wall.toml: {e:#}");
    }
}

#[test]
fn the_units_start_scanwall_with_a_sample_config() {
    let units = docs_files("service");
    assert!(units.len() >= 2, "{units:?}");
    for unit in units {
        let text = std::fs::read_to_string(&unit).unwrap();
        let exec = text.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        let config = exec
            .split("--config ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        let file = Path::new(config).file_name().unwrap();
        assert!(docs().join(file).is_file(), "{}: {exec}", unit.display());
        assert!(
            text.contains("[Install]") && text.contains("Restart=on-failure"),
            "{}",
            unit.display()
        );
    }
    let sensor = std::fs::read_to_string(docs().join("scanwall-sensor.service")).unwrap();
    for line in [
        "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
        "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=scanwall",
    ] {
        assert!(
            sensor.lines().any(|l| l == line),
            "scanwall-sensor.service lacks {line}"
        );
    }
}

#[test]
fn completions_and_man_page_come_from_the_definition() {
    let bash = stdout(&scanwall(&["completions", "bash"]));
    for word in [
        "--half-life",
        "--config",
        "--interface",
        "snapshot",
        "complete -F",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let zsh = stdout(&scanwall(&["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef scanwall") && zsh.contains("--half-life"));
    let fish = stdout(&scanwall(&["completions", "fish"]));
    assert!(fish.contains("complete -c scanwall") && fish.contains("half-life"));
    let man = stdout(&scanwall(&["man"]));
    assert!(man.contains(".TH scanwall 1"), "{man}");
    for word in [
        "\\-\\-half\\-life",
        "\\-\\-config",
        "\\-\\-fullscreen",
        "count",
        "snapshot",
    ] {
        assert!(man.contains(word), "man page lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let listed = stdout(&scanwall(&["man", "--dir", dir.path().to_str().unwrap()]));
    assert!(
        listed.lines().any(|l| l.ends_with("scanwall-count.1")),
        "{listed}"
    );
    let count = std::fs::read_to_string(dir.path().join("scanwall-count.1")).unwrap();
    assert!(count.contains(".TH") && count.contains("\\-\\-format"));
    let out = scanwall(&["completions", "tcsh"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("bash"));
}
