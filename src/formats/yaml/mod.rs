//! YAML: leaves with exact byte spans from saphyr-parser events, output by
//! splicing into the original text.

mod emit;
mod fast;
#[cfg(test)]
mod fast_tests;
mod lossy;
pub use emit::tree as emit_tree;
pub use parse::node_span;
mod parse;
mod render;
mod resolve;
mod scan;
pub mod segment;
#[cfg(test)]
mod tests;

use crate::document::{Document, Leaf, MetaNode, Plan, Rendered, Replacement};
use crate::error::FormatError;

pub struct YamlDocument<'a> {
    src: &'a str,
    parsed: parse::Parsed,
}

impl<'a> YamlDocument<'a> {
    pub fn parse(src: &'a str) -> Result<YamlDocument<'a>, FormatError> {
        let parsed = parse::parse(src)?;
        Ok(YamlDocument { src, parsed })
    }
}

impl Document for YamlDocument<'_> {
    fn leaves(&self) -> &[Leaf] {
        &self.parsed.leaves
    }

    fn metadata(&self) -> Option<&MetaNode> {
        self.parsed.metadata.as_ref()
    }

    fn render(
        &self,
        edits: &[Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Rendered, FormatError> {
        Ok(self.plan(edits, metadata)?.into_rendered())
    }

    fn plan<'s>(
        &'s self,
        edits: &'s [Replacement],
        metadata: Option<&MetaNode>,
    ) -> Result<Plan<'s>, FormatError> {
        render::plan(self.src, &self.parsed, edits, metadata)
    }

    fn plan_filled<'s>(
        &'s self,
        encrypt: &[bool],
        metadata: &MetaNode,
    ) -> Result<Option<crate::formats::splice::Spliced<'s>>, FormatError> {
        render::plan_filled(self.src, &self.parsed, encrypt, metadata)
    }
}
