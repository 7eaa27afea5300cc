//! One module per file format. Each parses text into [`Leaf`]s with exact
//! spans (see [`crate::document`]) and renders output by splicing; none of
//! them knows anything about encryption.
//!
//! [`Leaf`]: crate::document::Leaf

pub mod binary;
pub mod dotenv;
mod flatten;
pub mod ini;
pub mod json;
pub mod splice;
pub mod structure;
#[cfg(test)]
mod test_support;
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
    Dotenv,
    Ini,
    Toml,
    /// Any other file, stored whole as `data` in a JSON document.
    Binary,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: &'static [Format] = &[
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Toml,
        Format::Binary,
    ];

    /// "yaml, json, ..." for messages.
    pub fn names() -> String {
        Format::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The format SOPS picks for this file name: by its suffix, and binary
    /// for anything it does not know. SOPS tests the name's suffix, so a
    /// file called just `.env` (no extension to std::path) is dotenv too.
    pub fn from_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.to_ascii_lowercase())
            .unwrap_or_default();
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            Some("env") => Format::Dotenv,
            Some("ini") => Format::Ini,
            Some("toml") => Format::Toml,
            _ => Format::Binary,
        }
    }

    /// Parse a `--input-type`/`--output-type` name.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Toml => "toml",
            Format::Binary => "binary",
        }
    }

    /// Parse `src` as a document of this format. For binary files this is
    /// the encrypted JSON container; the plaintext is never parsed.
    pub fn parse(self, src: &str) -> Result<Box<dyn Document + '_>, FormatError> {
        match self {
            Format::Yaml => Ok(Box::new(yaml::YamlDocument::parse(src)?)),
            Format::Json | Format::Binary => Ok(Box::new(json::JsonDocument::parse(src)?)),
            Format::Dotenv => Ok(Box::new(dotenv::DotenvDocument::parse(src)?)),
            Format::Ini => Ok(Box::new(ini::IniDocument::parse(src)?)),
            Format::Toml => Ok(Box::new(toml::TomlDocument::parse(src)?)),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
