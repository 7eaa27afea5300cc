//! `shroud unset FILE PATH`: remove a key or list item in place, keeping
//! every other ciphertext.

use anyhow::Result;

use super::args::UnsetArgs;
use super::reopen::reopen;
use super::set::{structure_fail, write_changed};
use super::{Fail, input_format};
use shroud::error::exit;
use shroud::formats::Format;
use shroud::formats::structure::{self, Change, Outcome, StructureError};

pub fn run(args: UnsetArgs) -> Result<i32> {
    let file = &args.file;
    let name = file.display().to_string();
    let path = shroud::treepath::parse(&args.path)
        .map_err(|e| Fail::new(exit::INVALID_SET_FORMAT, e.to_string()))?;
    let format = input_format(args.input_type.as_deref(), Some(file), None)?;
    if format == Format::Binary {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: binary files have no key paths"),
        )
        .into());
    }
    let mut existing = reopen(file, format, args.ignore_mac)?;
    let plaintext = match structure::apply(
        format,
        &existing.plaintext,
        &Change::Unset { path: &path },
    ) {
        Ok(Outcome::Changed(text)) => text,
        Ok(Outcome::Unchanged) => return Ok(0),
        // sops: a missing key is "not found", exit 1, or success with
        // --idempotent (and nothing written).
        Err(StructureError::NotFound { .. }) if args.idempotent => return Ok(0),
        Err(e @ StructureError::NotFound { .. }) => {
            return Err(Fail::new(
                    exit::GENERIC,
                    format!(
                        "{name}: {e}; nothing was removed (check the path with `shroud decrypt`, or pass --idempotent to accept a missing key)"
                    ),
                )
                .into());
        }
        Err(e) => return Err(structure_fail(&name, e)),
    };
    write_changed(file, format, &mut existing, &plaintext)?;
    Ok(0)
}
