//! `scanwall completions SHELL` and `scanwall man`: shell completions and man
//! pages generated from the same clap definition that parses the command line
//! (`config::command()`, so `--config` is in them), so they can never describe
//! options that do not exist or miss new ones.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap_complete::Shell;

use crate::config;

/// The program name completions and man pages are written for.
const BIN: &str = "scanwall";

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut cmd = config::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    out
}

/// The man page of the whole command (the wall's options, the list of subcommands), as roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(config::command()).render(&mut out)?;
    Ok(out)
}

/// `scanwall completions SHELL`: prints the script (generated into memory first,
/// so a closed pipe is an error to report, not a panic in the generator).
pub fn completions(shell: Shell) -> anyhow::Result<()> {
    print(&completion_script(shell))
}

/// `scanwall man [--dir DIR]`: prints `scanwall(1)`, or writes it and one page
/// per subcommand (`scanwall-count.1`, ...) into `dir` and prints their paths.
pub fn man(dir: Option<&Path>) -> anyhow::Result<()> {
    let Some(dir) = dir else {
        return print(&man_page().context("cannot render the man page")?);
    };
    let mut cmd = config::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written).with_context(|| {
        format!(
            "cannot write man pages to {}; create the folder or choose a writable one",
            dir.display()
        )
    })?;
    let list: String = written.iter().map(|p| format!("{}\n", p.display())).collect();
    print(list.as_bytes())
}

/// Writes the page of `cmd` and of each visible subcommand, recursively.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    written.push(clap_mangen::Man::new(cmd.clone()).generate_to(dir)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// Writes to standard output; a reader that stops early (`| head`) is no error.
fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_options() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            for word in ["half-life", "interface", "config", "snapshot", "count"] {
                assert!(script.contains(word), "{shell}: no {word}");
            }
        }
    }

    #[test]
    fn the_man_page_is_roff_with_the_options() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.starts_with(".ie") || page.contains(".TH scanwall"), "{page}");
        for word in [".TH", "half\\-life", "config", "fullscreen", "count"] {
            assert!(page.contains(word), "no {word}");
        }
    }

    #[test]
    fn man_dir_writes_a_page_per_command() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = config::command().disable_help_subcommand(true);
        cmd.build();
        let mut written = Vec::new();
        write_pages(&cmd, dir.path(), &mut written).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "scanwall.1",
            "scanwall-count.1",
            "scanwall-snapshot.1",
            "scanwall-man.1",
        ] {
            assert!(names.iter().any(|n| n == want), "{names:?}");
        }
        let count = std::fs::read_to_string(dir.path().join("scanwall-count.1")).unwrap();
        assert!(count.contains(".TH") && count.contains("format"), "{count}");
    }
}
