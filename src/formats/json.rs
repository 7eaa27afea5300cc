//! JSON (placeholder until the span layer lands).

use crate::document::{Document, Leaf, MetaNode, Rendered, Replacement};
use crate::error::FormatError;

pub struct JsonDocument<'a> {
    src: &'a str,
    leaves: Vec<Leaf>,
    metadata: Option<MetaNode>,
}

impl<'a> JsonDocument<'a> {
    pub fn parse(src: &'a str) -> Result<JsonDocument<'a>, FormatError> {
        let _ = src;
        Err(FormatError::SpanCheck(
            "JSON support is not built yet".into(),
        ))
    }
}

impl Document for JsonDocument<'_> {
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
