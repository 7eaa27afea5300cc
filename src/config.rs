//! `.sops.yaml`: creation rules that say how new files are encrypted.
//!
//! Found as sops finds it: `--config`/`SOPS_CONFIG` if given, else
//! `.sops.yaml` in the current directory or the nearest parent. The first
//! rule whose `path_regex` matches the file's path (relative to the config
//! file's folder; unanchored, as Go's `regexp.MatchString`) wins. The file
//! is read through shroud's own YAML module, so unknown keys are ignored and
//! the file stays usable by sops.

use std::path::{Path, PathBuf};

use regex::Regex;

use crate::convert::{self, Node};
use crate::document::{Replacement, Value};
use crate::error::Error;
use crate::formats::Format;
use crate::rules::{RULE_FIELDS, Rule};

/// The file name sops looks for.
pub const CONFIG_NAME: &str = ".sops.yaml";

/// A loaded configuration file.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub creation_rules: Vec<CreationRule>,
}

/// One entry of `creation_rules`.
#[derive(Debug, Default)]
pub struct CreationRule {
    pub path_regex: Option<Regex>,
    /// Key groups of age recipient strings (one group unless `key_groups`).
    pub key_groups: Vec<Vec<String>>,
    pub shamir_threshold: Option<usize>,
    /// Rule fields as written (`field`, `pattern`); at most one may be set.
    pub rule_fields: Vec<(&'static str, String)>,
    pub mac_only_encrypted: bool,
    /// shroud's rotation policy (`shroud_max_key_age: 90d`): how old a
    /// file's data key may get before `shroud status` says to rotate.
    /// sops ignores unknown keys in a creation rule (checked with sops 3.11
    /// `encrypt` and `updatekeys` in tests/config.rs).
    pub max_key_age: Option<MaxKeyAge>,
}

/// The field name of the rotation policy in a creation rule.
pub const MAX_KEY_AGE_FIELD: &str = "shroud_max_key_age";

/// A maximum data-key age, as written (`90d`) and in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxKeyAge {
    pub text: String,
    pub seconds: i64,
}

impl MaxKeyAge {
    /// `N` followed by a unit: `h` hours, `d` days, `w` weeks (`90d`).
    pub fn parse(text: &str) -> Option<MaxKeyAge> {
        let t = text.trim();
        let unit = t.chars().last()?;
        let per = match unit {
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
        let n: i64 = t[..t.len() - 1].parse().ok().filter(|&n| n > 0)?;
        Some(MaxKeyAge {
            text: t.to_string(),
            seconds: n.checked_mul(per)?,
        })
    }
}

impl CreationRule {
    /// The encryption rule this creation rule sets, if any.
    pub fn rule(&self) -> Result<Option<Rule>, Error> {
        match self.rule_fields.as_slice() {
            [] => Ok(None),
            [(field, pattern)] => Rule::from_field(field, pattern).map(Some),
            _ => Err(Error::Rule(format!(
                "a creation rule sets more than one of {}",
                RULE_FIELDS.join(", ")
            ))),
        }
    }
}

/// Find the configuration file: `explicit` (from `--config`/`SOPS_CONFIG`)
/// or the nearest `.sops.yaml` from `start` upwards.
pub fn find(explicit: Option<&Path>, start: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    // sops looks up to 100 levels; so does shroud.
    start
        .ancestors()
        .take(100)
        .map(|d| d.join(CONFIG_NAME))
        .find(|p| p.is_file())
}

fn config_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Config(format!("{}: {msg}", path.display()))
}

/// Strings, or comma-separated strings, or a list of either.
fn string_list(node: &Node, path: &Path, field: &str) -> Result<Vec<String>, Error> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    match node {
        Node::Null => Ok(vec![]),
        Node::Scalar(Value::Str(s)) => Ok(split(s)),
        Node::List(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Node::Scalar(Value::Str(s)) => out.extend(split(s)),
                    _ => return Err(config_err(path, format!("{field} must list strings"))),
                }
            }
            Ok(out)
        }
        _ => Err(config_err(
            path,
            format!("{field} must be a string or a list of strings"),
        )),
    }
}

fn get<'a>(map: &'a [(String, Node)], key: &str) -> Option<&'a Node> {
    map.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The age keys of one `key_groups` entry, with its `merge` entries.
fn group_keys(node: &Node, path: &Path) -> Result<Vec<String>, Error> {
    let Node::Map(group) = node else {
        return Err(config_err(path, "each key group must be a map"));
    };
    let mut keys = match get(group, "age") {
        Some(n) => string_list(n, path, "age")?,
        None => vec![],
    };
    if let Some(Node::List(merged)) = get(group, "merge") {
        for m in merged {
            keys.extend(group_keys(m, path)?);
        }
    }
    // sops de-duplicates keys within a group.
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    Ok(keys)
}

fn parse_rule(node: &Node, path: &Path) -> Result<CreationRule, Error> {
    let Node::Map(m) = node else {
        return Err(config_err(path, "each creation rule must be a map"));
    };
    let mut rule = CreationRule::default();
    if let Some(n) = get(m, "path_regex") {
        match n {
            Node::Scalar(Value::Str(s)) if !s.is_empty() => {
                let re = Regex::new(s).map_err(|e| {
                    config_err(path, format!("path_regex {:?} is invalid: {e}", s.as_str()))
                })?;
                rule.path_regex = Some(re);
            }
            Node::Scalar(Value::Str(_)) | Node::Null => {}
            _ => return Err(config_err(path, "path_regex must be a string")),
        }
    }
    match get(m, "key_groups") {
        Some(Node::List(groups)) if !groups.is_empty() => {
            rule.key_groups = groups
                .iter()
                .map(|g| group_keys(g, path))
                .collect::<Result<_, _>>()?;
        }
        _ => {
            if let Some(n) = get(m, "age") {
                let keys = string_list(n, path, "age")?;
                if !keys.is_empty() {
                    rule.key_groups = vec![keys];
                }
            }
        }
    }
    if let Some(n) = get(m, "shamir_threshold") {
        match n {
            Node::Scalar(Value::Int(i)) if *i >= 0 => {
                rule.shamir_threshold = Some(*i as usize).filter(|&t| t > 0)
            }
            Node::Null => {}
            _ => return Err(config_err(path, "shamir_threshold must be a whole number")),
        }
    }
    for field in RULE_FIELDS {
        if let Some(n) = get(m, field) {
            match n {
                Node::Scalar(Value::Str(s)) if !s.is_empty() => {
                    rule.rule_fields.push((field, s.to_string()))
                }
                Node::Scalar(Value::Str(_)) | Node::Null => {}
                _ => return Err(config_err(path, format!("{field} must be a string"))),
            }
        }
    }
    if let Some(n) = get(m, "mac_only_encrypted") {
        match n {
            Node::Scalar(Value::Bool(b)) => rule.mac_only_encrypted = *b,
            Node::Null => {}
            _ => return Err(config_err(path, "mac_only_encrypted must be true or false")),
        }
    }
    if let Some(n) = get(m, MAX_KEY_AGE_FIELD) {
        match n {
            Node::Scalar(Value::Str(s)) => {
                rule.max_key_age = Some(MaxKeyAge::parse(s).ok_or_else(|| {
                    config_err(
                        path,
                        format!(
                            "{MAX_KEY_AGE_FIELD} {:?} is not an age like 90d, 12w or 36h",
                            s.as_str()
                        ),
                    )
                })?)
            }
            Node::Null => {}
            _ => {
                return Err(config_err(
                    path,
                    format!("{MAX_KEY_AGE_FIELD} must be an age like 90d, 12w or 36h"),
                ));
            }
        }
    }
    rule.rule()?;
    Ok(rule)
}

/// shroud's own settings in a `.sops.yaml`, under a top-level `shroud` key
/// (sops 3.11 ignores unknown top-level keys; checked against real sops):
///
/// ```yaml
/// shroud:
///   strict: true   # refuse files without shroud_auth
/// ```
///
/// Only the `shroud` map is read, so a config whose creation rules shroud
/// cannot use still gives its settings to decrypt.
pub fn strict_setting(path: &Path) -> Result<bool, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| config_err(path, format!("cannot read it: {e}")))?;
    let format = match Format::from_path(path) {
        Format::Json => Format::Json,
        _ => Format::Yaml,
    };
    let doc = format.parse(&text).map_err(|e| config_err(path, e))?;
    let keep = vec![Replacement::Keep; doc.leaves().len()];
    let root = convert::tree(doc.leaves(), &keep).map_err(|e| config_err(path, e))?;
    let Node::Map(top) = &root else {
        return Err(config_err(path, "the file must be a map"));
    };
    let Some(Node::Map(ours)) = get(top, "shroud") else {
        return Ok(false);
    };
    match get(ours, "strict") {
        None | Some(Node::Null) => Ok(false),
        Some(Node::Scalar(Value::Bool(b))) => Ok(*b),
        Some(_) => Err(config_err(path, "shroud.strict must be true or false")),
    }
}

impl Config {
    /// Parse the text of a configuration file found at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Error> {
        let format = match Format::from_path(path) {
            Format::Json => Format::Json,
            _ => Format::Yaml,
        };
        let doc = format.parse(text).map_err(|e| config_err(path, e))?;
        let keep = vec![Replacement::Keep; doc.leaves().len()];
        let root = convert::tree(doc.leaves(), &keep).map_err(|e| config_err(path, e))?;
        let Node::Map(top) = &root else {
            return Err(config_err(path, "the file must be a map"));
        };
        let creation_rules = match get(top, "creation_rules") {
            Some(Node::List(rules)) => rules
                .iter()
                .map(|r| parse_rule(r, path))
                .collect::<Result<_, _>>()?,
            Some(Node::Null) | None => vec![],
            Some(_) => return Err(config_err(path, "creation_rules must be a list")),
        };
        Ok(Config {
            path: path.to_path_buf(),
            creation_rules,
        })
    }

    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_err(path, format!("cannot read it: {e}")))?;
        Config::parse(path, &text)
    }

    /// The first rule matching `file` (an absolute path, or the
    /// `--filename-override` name), matched relative to the config folder.
    pub fn rule_for(&self, file: &Path) -> Result<&CreationRule, Error> {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        let rel = file.strip_prefix(dir).unwrap_or(file);
        let rel = rel.to_string_lossy();
        self.creation_rules
            .iter()
            .find(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(&rel)))
            .ok_or_else(|| {
                if self.creation_rules.is_empty() {
                    config_err(&self.path, "the file has no creation_rules, and no keys were given on the command line")
                } else {
                    let regexes: Vec<String> = self
                        .creation_rules
                        .iter()
                        .filter_map(|r| r.path_regex.as_ref().map(|re| format!("{:?}", re.as_str())))
                        .collect();
                    config_err(
                        &self.path,
                        format!(
                            "no creation rule matches {rel:?} (paths are matched relative to the \
                             folder of .sops.yaml; the rules' path_regex: {}); add a rule for it, \
                             or pass --age",
                            regexes.join(", ")
                        ),
                    )
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written as JSON here so these tests stand on the JSON module alone;
    // the CLI tests read real .sops.yaml files.
    const CONFIG: &str = r#"{
        "creation_rules": [
            {"path_regex": "prod/.*\\.yaml$", "age": "age1a, age1b", "encrypted_regex": "^(data|stringData)$"},
            {"path_regex": "groups", "shamir_threshold": 2,
             "key_groups": [{"age": ["age1a"]}, {"age": ["age1b", "age1c,age1a"], "merge": [{"age": ["age1b"]}]}]},
            {"age": ["age1default"], "mac_only_encrypted": true}
        ]
    }"#;

    #[test]
    fn first_matching_rule_wins_relative_to_the_config_folder() {
        let c = Config::parse(Path::new("/repo/.sops.json"), CONFIG).unwrap();
        let r = c.rule_for(Path::new("/repo/prod/app.yaml")).unwrap();
        assert_eq!(
            r.key_groups,
            vec![vec!["age1a".to_string(), "age1b".into()]]
        );
        assert_eq!(r.rule().unwrap().unwrap().field(), "encrypted_regex");
        let r = c.rule_for(Path::new("/repo/dev/app.yaml")).unwrap();
        assert_eq!(r.key_groups, vec![vec!["age1default".to_string()]]);
        assert!(r.mac_only_encrypted);
    }

    #[test]
    fn key_groups_merge_and_deduplicate() {
        let c = Config::parse(Path::new("/repo/.sops.json"), CONFIG).unwrap();
        let r = c.rule_for(Path::new("/repo/groups/x.json")).unwrap();
        assert_eq!(r.shamir_threshold, Some(2));
        assert_eq!(
            r.key_groups,
            vec![
                vec!["age1a".to_string()],
                vec!["age1b".to_string(), "age1c".into(), "age1a".into()]
            ]
        );
    }

    #[test]
    fn no_match_names_the_config_file() {
        let c = Config::parse(
            Path::new("/repo/.sops.json"),
            r#"{"creation_rules": [{"path_regex": "^x$", "age": "k"}]}"#,
        )
        .unwrap();
        let e = c.rule_for(Path::new("/repo/y")).unwrap_err().to_string();
        assert!(
            e.contains("/repo/.sops.json") && e.contains("no creation rule matches"),
            "{e}"
        );
        let c = Config::parse(Path::new("/repo/.sops.json"), "{}").unwrap();
        assert!(c.rule_for(Path::new("/repo/y")).is_err());
    }

    #[test]
    fn max_key_age_in_hours_days_or_weeks() {
        assert_eq!(MaxKeyAge::parse("90d").unwrap().seconds, 90 * 86_400);
        assert_eq!(MaxKeyAge::parse("2w").unwrap().seconds, 14 * 86_400);
        assert_eq!(MaxKeyAge::parse("36h").unwrap().seconds, 36 * 3600);
        for bad in ["90", "d", "-3d", "0d", "1.5d", "3 months"] {
            assert_eq!(MaxKeyAge::parse(bad), None, "{bad}");
        }
        let c = Config::parse(
            Path::new("/c.json"),
            r#"{"creation_rules": [{"age": "k", "shroud_max_key_age": "30d"}]}"#,
        )
        .unwrap();
        let r = c.rule_for(Path::new("/x")).unwrap();
        assert_eq!(r.max_key_age.as_ref().unwrap().text, "30d");
        let e = Config::parse(
            Path::new("/c.json"),
            r#"{"creation_rules": [{"age": "k", "shroud_max_key_age": "soon"}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("shroud_max_key_age"), "{e}");
    }

    #[test]
    fn refuses_two_rules_in_one_creation_rule() {
        let e = Config::parse(
            Path::new("/c.json"),
            r#"{"creation_rules": [{"encrypted_regex": "a", "unencrypted_suffix": "_u"}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than one"), "{e}");
    }
}
