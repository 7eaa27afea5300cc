//! `--extract`: print one value of a decrypted document.

use anyhow::Result;

use shroud::formats::Format;
use shroud::treepath::PathSeg;
use zeroize::Zeroizing;

pub fn extract(_format: Format, _plaintext: &str, _path: &[PathSeg]) -> Result<Zeroizing<String>> {
    anyhow::bail!("--extract is not wired up yet")
}
