//! Which values get encrypted: SOPS's partial-encryption rules.
//!
//! Exactly one rule is active per file (`unencrypted_suffix: _unencrypted`
//! when the metadata names none). A rule looks at the value's key path (all
//! ancestor map keys, list indices excluded) or, for the comment rules, at
//! the comments above it (see [`CommentStack`]). Regexes are unanchored RE2,
//! as in Go's `regexp.MatchString`.

use regex::Regex;

use crate::document::Keys;
use crate::error::Error;

/// The default suffix that keeps a value in clear text.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// The one active encryption rule.
#[derive(Clone, Debug)]
pub enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    UnencryptedCommentRegex(Regex),
    EncryptedCommentRegex(Regex),
}

impl Default for Rule {
    fn default() -> Rule {
        Rule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string())
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.field() == other.field() && self.pattern() == other.pattern()
    }
}

/// The metadata field names of the rules, in SOPS's order.
pub const RULE_FIELDS: [&str; 6] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
];

impl Rule {
    /// Whether the rule depends on the comments above a value, and so on
    /// everything read before it (not just its key path).
    pub fn reads_comments(&self) -> bool {
        matches!(
            self,
            Rule::UnencryptedCommentRegex(_) | Rule::EncryptedCommentRegex(_)
        )
    }

    /// Build a rule from its metadata field name and value.
    pub fn from_field(field: &str, pattern: &str) -> Result<Rule, Error> {
        let re = |p: &str| {
            Regex::new(p).map_err(|e| {
                Error::Rule(format!(
                    "{field}: {p:?} is not a valid regular expression: {e}"
                ))
            })
        };
        Ok(match field {
            "unencrypted_suffix" => Rule::UnencryptedSuffix(pattern.to_string()),
            "encrypted_suffix" => Rule::EncryptedSuffix(pattern.to_string()),
            "unencrypted_regex" => Rule::UnencryptedRegex(re(pattern)?),
            "encrypted_regex" => Rule::EncryptedRegex(re(pattern)?),
            "unencrypted_comment_regex" => Rule::UnencryptedCommentRegex(re(pattern)?),
            "encrypted_comment_regex" => Rule::EncryptedCommentRegex(re(pattern)?),
            other => return Err(Error::Rule(format!("unknown rule {other:?}"))),
        })
    }

    /// Pick the single rule from optional settings; more than one is an
    /// error, none gives the default.
    pub fn from_options(options: &[(&str, Option<&str>)]) -> Result<Rule, Error> {
        let set: Vec<(&str, &str)> = options
            .iter()
            .filter_map(|(f, v)| v.filter(|v| !v.is_empty()).map(|v| (*f, v)))
            .collect();
        match set.as_slice() {
            [] => Ok(Rule::default()),
            [(field, pattern)] => Rule::from_field(field, pattern),
            many => Err(Error::Rule(format!(
                "only one encryption rule may be set, got {}",
                many.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            Rule::UnencryptedSuffix(_) => RULE_FIELDS[0],
            Rule::EncryptedSuffix(_) => RULE_FIELDS[1],
            Rule::UnencryptedRegex(_) => RULE_FIELDS[2],
            Rule::EncryptedRegex(_) => RULE_FIELDS[3],
            Rule::UnencryptedCommentRegex(_) => RULE_FIELDS[4],
            Rule::EncryptedCommentRegex(_) => RULE_FIELDS[5],
        }
    }

    pub fn pattern(&self) -> &str {
        match self {
            Rule::UnencryptedSuffix(s) | Rule::EncryptedSuffix(s) => s,
            Rule::UnencryptedRegex(r)
            | Rule::EncryptedRegex(r)
            | Rule::UnencryptedCommentRegex(r)
            | Rule::EncryptedCommentRegex(r) => r.as_str(),
        }
    }

    /// Whether the item at `path` is encrypted. `stack` holds the comments
    /// in force above it; for a comment item, `is_comment` is true and the
    /// comment itself is the last entry of the innermost level.
    pub fn should_encrypt(
        &self,
        path: &(impl Keys + ?Sized),
        stack: &CommentStack,
        is_comment: bool,
    ) -> bool {
        let mut keys = path.keys();
        match self {
            Rule::UnencryptedSuffix(s) => !keys.any(|k| k.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => keys.any(|k| k.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !keys.any(|k| r.is_match(k)),
            Rule::EncryptedRegex(r) => keys.any(|k| r.is_match(k)),
            Rule::UnencryptedCommentRegex(r) => !stack.any(false, |c| r.is_match(c)),
            // A comment is never encrypted because of itself.
            Rule::EncryptedCommentRegex(r) => stack.any(is_comment, |c| r.is_match(c)),
        }
    }
}

/// The comments in force at a point of the walk: one list per nesting
/// level. A comment joins its level's list; the list is cleared after each
/// non-comment item of that level; inner levels see the outer lists, so a
/// comment above `nested:` applies to everything inside it.
#[derive(Default, Debug)]
pub struct CommentStack {
    levels: Vec<Vec<String>>,
    last_depth: usize,
}

impl CommentStack {
    /// Move the walk to an item at `depth`. Coming back out of deeper levels
    /// means the item that held them is finished, which clears its level.
    pub fn enter(&mut self, depth: usize) {
        if depth < self.last_depth {
            self.levels.truncate(depth + 1);
            if let Some(level) = self.levels.get_mut(depth) {
                level.clear();
            }
        }
        if self.levels.len() <= depth {
            self.levels.resize_with(depth + 1, Vec::new);
        }
        self.last_depth = depth;
    }

    pub fn push_comment(&mut self, depth: usize, text: &str) {
        self.enter(depth);
        self.levels[depth].push(text.to_string());
    }

    /// After a non-comment item at `depth`.
    pub fn finish_item(&mut self, depth: usize) {
        if let Some(level) = self.levels.get_mut(depth) {
            level.clear();
        }
    }

    fn any(&self, skip_last: bool, mut f: impl FnMut(&str) -> bool) -> bool {
        let innermost = self.levels.len().saturating_sub(1);
        self.levels.iter().enumerate().any(|(i, level)| {
            let take = if skip_last && i == innermost {
                level.len().saturating_sub(1)
            } else {
                level.len()
            };
            level[..take].iter().any(|c| f(c))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn suffix_rules_cover_whole_subtrees() {
        let stack = CommentStack::default();
        let r = Rule::default();
        assert!(r.should_encrypt(&p(&["db", "password"]), &stack, false));
        assert!(!r.should_encrypt(&p(&["db_unencrypted", "password"]), &stack, false));
        let r = Rule::EncryptedSuffix("_secret".into());
        assert!(r.should_encrypt(&p(&["a_secret", "b"]), &stack, false));
        assert!(!r.should_encrypt(&p(&["a", "b"]), &stack, false));
    }

    #[test]
    fn regex_rules_are_unanchored() {
        let stack = CommentStack::default();
        let r = Rule::from_field("encrypted_regex", "^(data|stringData)$").unwrap();
        assert!(r.should_encrypt(&p(&["data", "x"]), &stack, false));
        assert!(!r.should_encrypt(&p(&["metadata", "x"]), &stack, false));
        let r = Rule::from_field("unencrypted_regex", "pub").unwrap();
        assert!(!r.should_encrypt(&p(&["public_key"]), &stack, false));
    }

    #[test]
    fn only_one_rule_may_be_set() {
        assert!(
            Rule::from_options(&[
                ("encrypted_regex", Some("a")),
                ("unencrypted_suffix", Some("_x"))
            ])
            .is_err()
        );
        assert_eq!(
            Rule::from_options(&[("encrypted_regex", None)]).unwrap(),
            Rule::default()
        );
        assert!(Rule::from_field("encrypted_regex", "(").is_err());
    }

    #[test]
    fn comment_stack_applies_to_nested_items_and_clears() {
        let r = Rule::from_field("encrypted_comment_regex", "sops:enc").unwrap();
        let mut s = CommentStack::default();
        // # sops:enc        (depth 0)
        // nested:
        //   a: 1            (depth 1) -> encrypted
        // b: 2              (depth 0) -> not encrypted
        s.push_comment(0, " sops:enc");
        // The marker comment itself is not encrypted because of itself.
        assert!(!r.should_encrypt(&[] as &[&str], &s, true));
        s.enter(1);
        assert!(r.should_encrypt(&p(&["nested", "a"]), &s, false));
        s.finish_item(1);
        s.enter(0);
        assert!(!r.should_encrypt(&p(&["b"]), &s, false));
    }
}
