//! One module per file format. Each parses text into [`Leaf`]s with exact
//! spans (see [`crate::document`]) and renders output by splicing; none of
//! them knows anything about encryption.
//!
//! [`Leaf`]: crate::document::Leaf

pub mod dotenv;
mod flat;
pub mod ini;
pub mod json;
#[cfg(test)]
mod sops_interop;
pub mod splice;
pub mod yaml;

use std::fmt;
use std::path::Path;

use crate::document::Document;
use crate::error::FormatError;

/// The file formats shroud reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
}

impl Format {
    /// The format SOPS would pick for this file name: `.yaml`/`.yml` is YAML,
    /// `.json` is JSON, `.env` is dotenv, `.ini` is INI. `None` for anything
    /// else.
    pub fn from_path(path: &Path) -> Option<Format> {
        // SOPS tests the name's suffix, so a file called just `.env` (which
        // has no extension to std::path) is dotenv too.
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "env" => Some(Format::Dotenv),
            "ini" => Some(Format::Ini),
            _ => None,
        }
    }

    /// Parse a `--input-type`/`--output-type` name.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "yaml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "dotenv" => Some(Format::Dotenv),
            "ini" => Some(Format::Ini),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
        }
    }

    /// Parse `src` as a document of this format.
    pub fn parse(self, src: &str) -> Result<Box<dyn Document + '_>, FormatError> {
        match self {
            Format::Yaml => Ok(Box::new(yaml::YamlDocument::parse(src)?)),
            Format::Json => Ok(Box::new(json::JsonDocument::parse(src)?)),
            Format::Dotenv => Ok(Box::new(dotenv::DotenvDocument::parse(src)?)),
            Format::Ini => Ok(Box::new(ini::IniDocument::parse(src)?)),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
