//! YAML (placeholder until the span layer lands).

use crate::document::{Document, Leaf, MetaNode, Rendered, Replacement};
use crate::error::FormatError;

pub struct YamlDocument<'a> {
    src: &'a str,
    leaves: Vec<Leaf>,
    metadata: Option<MetaNode>,
}

impl<'a> YamlDocument<'a> {
    pub fn parse(src: &'a str) -> Result<YamlDocument<'a>, FormatError> {
        let _ = src;
        Err(FormatError::SpanCheck(
            "YAML support is not built yet".into(),
        ))
    }
}

impl Document for YamlDocument<'_> {
    fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }
    fn metadata(&self) -> Option<&MetaNode> {
        self.metadata.as_ref()
    }
    fn render(
        &self,
        _edits: &[Replacement],
        _metadata: Option<&MetaNode>,
    ) -> Result<Rendered, FormatError> {
        Ok(Rendered {
            text: self.src.to_string(),
            warnings: vec![],
        })
    }
}
