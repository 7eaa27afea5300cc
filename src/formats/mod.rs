//! One module per file format. Each parses text into [`Leaf`]s with exact
//! spans (see [`crate::document`]) and renders output by splicing; none of
//! them knows anything about encryption.
//!
//! [`Leaf`]: crate::document::Leaf

pub mod binary;
pub mod json;
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
    /// Any other file, stored whole as `data` in a JSON document.
    Binary,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: &'static [Format] = &[Format::Yaml, Format::Json, Format::Binary];

    /// "yaml, json, ..." for messages.
    pub fn names() -> String {
        Format::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The format SOPS picks for this file name: by extension, and binary
    /// for anything it does not know.
    pub fn from_path(path: &Path) -> Format {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            _ => Format::Binary,
        }
    }

    /// Parse a `--input-type`/`--output-type` name.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "yaml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "binary" => Some(Format::Binary),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Binary => "binary",
        }
    }

    /// Parse `src` as a document of this format. For binary files this is
    /// the encrypted JSON container; the plaintext is never parsed.
    pub fn parse(self, src: &str) -> Result<Box<dyn Document + '_>, FormatError> {
        match self {
            Format::Yaml => Ok(Box::new(yaml::YamlDocument::parse(src)?)),
            Format::Json | Format::Binary => Ok(Box::new(json::JsonDocument::parse(src)?)),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
