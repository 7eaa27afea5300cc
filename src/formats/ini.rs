//! INI (stub, replaced below).
use crate::document::{Document, Leaf, MetaNode, Rendered, Replacement};
use crate::error::FormatError;

pub struct IniDocument<'a> {
    src: &'a str,
}

impl<'a> IniDocument<'a> {
    pub fn parse(src: &'a str) -> Result<IniDocument<'a>, FormatError> {
        Ok(IniDocument { src })
    }
}

impl Document for IniDocument<'_> {
    fn leaves(&self) -> &[Leaf] {
        &[]
    }
    fn metadata(&self) -> Option<&MetaNode> {
        None
    }
    fn render(&self, _: &[Replacement], _: Option<&MetaNode>) -> Result<Rendered, FormatError> {
        Ok(Rendered {
            text: self.src.to_string(),
            warnings: vec![],
        })
    }
}
