//! One module per file format. Each parses text into [`Leaf`]s with exact
//! spans (see [`crate::document`]) and renders output by splicing; none of
//! them knows anything about encryption.
//!
//! [`Leaf`]: crate::document::Leaf

pub mod json;
pub mod splice;
pub mod toml;
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
    Toml,
}

impl Format {
    /// The format SOPS would pick for this file name: `.yaml`/`.yml` is YAML,
    /// `.json` is JSON,
    /// `.toml` is TOML (which SOPS itself treats as binary). `None` for anything else.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }

    /// Parse a `--input-type`/`--output-type` name.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "yaml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Toml => "toml",
        }
    }

    /// Parse `src` as a document of this format.
    pub fn parse(self, src: &str) -> Result<Box<dyn Document + '_>, FormatError> {
        match self {
            Format::Yaml => Ok(Box::new(yaml::YamlDocument::parse(src)?)),
            Format::Json => Ok(Box::new(json::JsonDocument::parse(src)?)),
            Format::Toml => Ok(Box::new(toml::TomlDocument::parse(src)?)),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
