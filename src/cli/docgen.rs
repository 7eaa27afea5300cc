//! `shroud completions` and `shroud man`: generated from the clap
//! definitions, so they can never disagree with the real flags.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs, ManArgs};
use super::io::{write_atomic, write_stdout};

/// The full command tree, as clap sees it.
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "shroud", &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs) -> Result<()> {
    let cmd = command();
    let Some(dir) = args.dir else {
        return write_stdout(&render(cmd)?);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    write_page(&dir, "shroud", cmd.clone())?;
    let version = cmd.get_version().unwrap_or_default().to_string();
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        // `shroud-encrypt(1)`, as git and cargo name their subcommand pages.
        let name = format!("shroud-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).version(version.clone());
        write_page(&dir, &name, page)?;
    }
    Ok(())
}

fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> Result<()> {
    write_atomic(&dir.join(format!("{name}.1")), &render(cmd)?)
}

fn render(cmd: clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .context("could not render the man page")?;
    Ok(out)
}
