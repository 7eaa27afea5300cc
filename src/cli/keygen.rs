//! `shroud keygen`.

use anyhow::Result;

use super::args::KeygenArgs;

pub fn run(_args: KeygenArgs) -> Result<()> {
    anyhow::bail!("keygen is not wired up yet")
}
