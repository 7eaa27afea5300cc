//! The `sops` metadata block: recipients and wrapped data keys, the MAC,
//! `lastmodified`, the encryption rule and the version.
//!
//! Formats hand the block over as a generic [`MetaNode`] tree and write it
//! back from one; this module is the only place that knows its fields.
//! Field order on write follows SOPS 3.11 (spec section 5.2), so a file
//! shroud writes looks like one sops writes.

use crate::document::MetaNode;
use crate::error::Error;
use crate::rules::{RULE_FIELDS, Rule};

/// The version shroud writes. It must be semver, and sops only reads files
/// whose version it accepts, so this names the sops format level shroud
/// writes, not shroud's own version.
pub const FORMAT_VERSION: &str = "3.11.0";

/// One age recipient and the data key (or Shamir share) wrapped for it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgeKey {
    pub recipient: String,
    /// An armored age file.
    pub enc: String,
}

/// A group of keys; each key in the group wraps the same secret.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    pub age: Vec<AgeKey>,
    /// Key types shroud does not use (pgp, kms, ...), kept verbatim so a
    /// rewrite does not drop another team's access.
    pub other: Vec<(String, MetaNode)>,
}

/// Key types SOPS knows besides age, in its field order.
const OTHER_KEY_TYPES: [&str; 7] = [
    "kms",
    "gcp_kms",
    "hckms",
    "azure_kv",
    "hc_vault",
    "pgp",
    "hc_vault_transit",
];

#[derive(Clone, Debug)]
pub struct Metadata {
    pub key_groups: Vec<KeyGroup>,
    /// Only meaningful with two or more groups.
    pub shamir_threshold: Option<usize>,
    pub lastmodified: String,
    pub mac: String,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
    pub version: String,
    /// shroud's record of the data key (`shroud_key_version`,
    /// `shroud_key_created`). `None` when the file does not carry it, e.g.
    /// because sops rewrote it (sops drops fields it does not know).
    pub key_version: Option<KeyVersion>,
}

/// Field names of shroud's own metadata. sops ignores unknown fields when
/// reading (and drops them when it rewrites a file), so they are safe to add.
pub const KEY_VERSION_FIELD: &str = "shroud_key_version";
pub const KEY_CREATED_FIELD: &str = "shroud_key_created";

/// Which data key a file is on: 1 for a new file, +1 on every rotation,
/// and when that key was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    pub version: u64,
    /// RFC 3339, UTC, whole seconds (as `lastmodified`).
    pub created: String,
}

impl KeyVersion {
    /// The key of a newly encrypted file, made at `created`.
    pub fn first(created: String) -> KeyVersion {
        KeyVersion {
            version: 1,
            created,
        }
    }

    /// The key that replaces `previous` at rotation. An unknown previous
    /// version (lost when another tool rewrote the file) restarts at 1.
    pub fn next(previous: Option<&KeyVersion>, created: String) -> KeyVersion {
        KeyVersion {
            version: previous.map_or(1, |p| p.version.saturating_add(1)),
            created,
        }
    }

    /// When the key was made, if `created` is a valid time stamp.
    pub fn created_at(&self) -> Option<jiff::Timestamp> {
        self.created.parse().ok()
    }

    /// Read the two fields. Anything missing or malformed means "unknown",
    /// never an error: these fields are advisory and other tools may drop
    /// or mangle them without harming the file.
    fn from_node(node: &MetaNode) -> Option<KeyVersion> {
        let version = match node.get(KEY_VERSION_FIELD)? {
            MetaNode::Int(i) => u64::try_from(*i).ok()?,
            MetaNode::Str(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        let created = match node.get(KEY_CREATED_FIELD)? {
            MetaNode::Str(s) if s.parse::<jiff::Timestamp>().is_ok() => s.clone(),
            _ => return None,
        };
        Some(KeyVersion { version, created })
    }
}

fn meta_err(msg: impl Into<String>) -> Error {
    Error::Metadata(msg.into())
}

fn as_str<'a>(node: &'a MetaNode, field: &str) -> Result<&'a str, Error> {
    match node {
        MetaNode::Str(s) => Ok(s),
        _ => Err(meta_err(format!("{field} must be a string"))),
    }
}

/// Flattened formats (dotenv, INI) store every scalar as a string.
fn as_int(node: &MetaNode, field: &str) -> Result<i64, Error> {
    match node {
        MetaNode::Int(i) => Ok(*i),
        MetaNode::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| meta_err(format!("{field} must be an integer"))),
        _ => Err(meta_err(format!("{field} must be an integer"))),
    }
}

fn as_bool(node: &MetaNode, field: &str) -> Result<bool, Error> {
    match node {
        MetaNode::Bool(b) => Ok(*b),
        MetaNode::Str(s) => crate::value::go_parse_bool(s)
            .ok_or_else(|| meta_err(format!("{field} must be a boolean"))),
        MetaNode::Null => Ok(false),
        _ => Err(meta_err(format!("{field} must be a boolean"))),
    }
}

fn as_list<'a>(node: &'a MetaNode, field: &str) -> Result<&'a [MetaNode], Error> {
    match node {
        MetaNode::List(items) => Ok(items),
        MetaNode::Null => Ok(&[]),
        _ => Err(meta_err(format!("{field} must be a list"))),
    }
}

fn parse_age_keys(node: &MetaNode, field: &str) -> Result<Vec<AgeKey>, Error> {
    as_list(node, field)?
        .iter()
        .map(|entry| {
            let recipient = entry
                .get("recipient")
                .ok_or_else(|| meta_err(format!("an entry of {field} has no recipient")))?;
            let enc = entry
                .get("enc")
                .ok_or_else(|| meta_err(format!("an entry of {field} has no enc")))?;
            Ok(AgeKey {
                recipient: as_str(recipient, "recipient")?.trim().to_string(),
                enc: as_str(enc, "enc")?.to_string(),
            })
        })
        .collect()
}

fn is_empty_node(node: &MetaNode) -> bool {
    matches!(node, MetaNode::Null) || matches!(node, MetaNode::List(l) if l.is_empty())
}

fn parse_group(node: &MetaNode) -> Result<KeyGroup, Error> {
    let mut group = KeyGroup::default();
    if let Some(age) = node.get("age") {
        group.age = parse_age_keys(age, "age")?;
    }
    for t in OTHER_KEY_TYPES {
        if let Some(v) = node.get(t).filter(|v| !is_empty_node(v)) {
            group.other.push((t.to_string(), v.clone()));
        }
    }
    Ok(group)
}

impl Metadata {
    /// Read the metadata block as SOPS does (spec section 5.1): fields in
    /// any order, unknown fields ignored, top-level key lists taking
    /// precedence over `key_groups`.
    pub fn from_node(node: &MetaNode) -> Result<Metadata, Error> {
        if !matches!(node, MetaNode::Map(_)) {
            return Err(meta_err("the sops block must be a map"));
        }
        let top = parse_group(node)?;
        let key_groups = if !top.age.is_empty() || !top.other.is_empty() {
            vec![top]
        } else if let Some(groups) = node.get("key_groups") {
            as_list(groups, "key_groups")?
                .iter()
                .map(parse_group)
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        if key_groups.is_empty() {
            return Err(meta_err("no keys found in the file"));
        }

        let mut rule_fields = Vec::new();
        for field in RULE_FIELDS {
            if let Some(v) = node.get(field) {
                let s = as_str(v, field)?;
                if !s.is_empty() {
                    rule_fields.push((field, Some(s)));
                }
            }
        }
        let rule = Rule::from_options(&rule_fields)?;

        let lastmodified = as_str(
            node.get("lastmodified")
                .ok_or_else(|| meta_err("lastmodified is missing"))?,
            "lastmodified",
        )?
        .to_string();
        let mac = match node.get("mac") {
            Some(MetaNode::Null) | None => String::new(),
            Some(m) => as_str(m, "mac")?.to_string(),
        };
        let version = match node.get("version") {
            Some(v) => as_str(v, "version")?.to_string(),
            None => return Err(meta_err("version is missing")),
        };
        check_semver(&version)?;
        let shamir_threshold = match node.get("shamir_threshold") {
            Some(MetaNode::Null) | None => None,
            Some(t) => {
                let t = as_int(t, "shamir_threshold")?;
                (t != 0)
                    .then(|| usize::try_from(t))
                    .transpose()
                    .map_err(|_| meta_err("shamir_threshold is negative"))?
            }
        };
        let mac_only_encrypted = node
            .get("mac_only_encrypted")
            .map(|b| as_bool(b, "mac_only_encrypted"))
            .transpose()?
            .unwrap_or(false);

        Ok(Metadata {
            key_groups,
            shamir_threshold,
            lastmodified,
            mac,
            rule,
            mac_only_encrypted,
            version,
            key_version: KeyVersion::from_node(node),
        })
    }

    /// The block in SOPS 3.11's field order. Scalars keep their types;
    /// flattened formats turn them into strings themselves.
    pub fn to_node(&self) -> MetaNode {
        let age_list = |keys: &[AgeKey]| {
            MetaNode::List(
                keys.iter()
                    .map(|k| {
                        MetaNode::Map(vec![
                            ("recipient".into(), MetaNode::Str(k.recipient.clone())),
                            ("enc".into(), MetaNode::Str(k.enc.clone())),
                        ])
                    })
                    .collect(),
            )
        };
        let mut m: Vec<(String, MetaNode)> = Vec::new();
        if self.key_groups.len() > 1 {
            if let Some(t) = self.shamir_threshold {
                m.push(("shamir_threshold".into(), MetaNode::Int(t as i64)));
            }
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut entries: Vec<(String, MetaNode)> = g.other.clone();
                    if !g.other.iter().any(|(k, _)| k == "hc_vault") {
                        entries.push(("hc_vault".into(), MetaNode::List(vec![])));
                    }
                    entries.push(("age".into(), age_list(&g.age)));
                    MetaNode::Map(entries)
                })
                .collect();
            m.push(("key_groups".into(), MetaNode::List(groups)));
        } else if let Some(g) = self.key_groups.first() {
            m.extend(g.other.iter().filter(|(k, _)| k != "pgp").cloned());
            if !g.age.is_empty() {
                m.push(("age".into(), age_list(&g.age)));
            }
        }
        m.push((
            "lastmodified".into(),
            MetaNode::Str(self.lastmodified.clone()),
        ));
        m.push(("mac".into(), MetaNode::Str(self.mac.clone())));
        if self.key_groups.len() == 1
            && let Some((_, pgp)) = self.key_groups[0].other.iter().find(|(k, _)| k == "pgp")
        {
            m.push(("pgp".into(), pgp.clone()));
        }
        m.push((
            self.rule.field().into(),
            MetaNode::Str(self.rule.pattern().to_string()),
        ));
        if self.mac_only_encrypted {
            m.push(("mac_only_encrypted".into(), MetaNode::Bool(true)));
        }
        m.push(("version".into(), MetaNode::Str(self.version.clone())));
        // shroud's fields go last, after everything sops writes.
        if let Some(kv) = &self.key_version {
            m.push((
                KEY_VERSION_FIELD.into(),
                MetaNode::Int(i64::try_from(kv.version).unwrap_or(i64::MAX)),
            ));
            m.push((KEY_CREATED_FIELD.into(), MetaNode::Str(kv.created.clone())));
        }
        MetaNode::Map(m)
    }

    /// Every age recipient of the file, for messages.
    pub fn recipients(&self) -> Vec<&str> {
        self.key_groups
            .iter()
            .flat_map(|g| g.age.iter().map(|k| k.recipient.as_str()))
            .collect()
    }
}

/// SOPS refuses a file whose `version` is not semver (every load path
/// compares versions), so shroud checks it the same way.
pub fn check_semver(version: &str) -> Result<(), Error> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let ok = !parts.is_empty()
        && parts.len() <= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(meta_err(format!(
            "version {version:?} is not a semantic version (sops would refuse this file)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metadata {
        Metadata {
            key_groups: vec![KeyGroup {
                age: vec![AgeKey {
                    recipient: "age1xyz".into(),
                    enc: "-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n-----END AGE ENCRYPTED FILE-----\n".into(),
                }],
                other: vec![],
            }],
            shamir_threshold: None,
            lastmodified: "2024-01-01T00:00:00Z".into(),
            mac: "ENC[...]".into(),
            rule: Rule::default(),
            mac_only_encrypted: false,
            version: FORMAT_VERSION.into(),
            key_version: None,
        }
    }

    #[test]
    fn round_trips_through_the_node_form_in_sops_order() {
        let m = sample();
        let node = m.to_node();
        let MetaNode::Map(entries) = &node else {
            panic!()
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "age",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );
        let back = Metadata::from_node(&node).unwrap();
        assert_eq!(back.key_groups, m.key_groups);
        assert_eq!(back.rule, m.rule);
    }

    #[test]
    fn reads_flattened_string_scalars_and_key_groups() {
        let group = |r: &str| {
            MetaNode::Map(vec![
                ("hc_vault".into(), MetaNode::List(vec![])),
                (
                    "age".into(),
                    MetaNode::List(vec![MetaNode::Map(vec![
                        ("recipient".into(), MetaNode::Str(r.into())),
                        ("enc".into(), MetaNode::Str("x".into())),
                    ])]),
                ),
            ])
        };
        let node = MetaNode::Map(vec![
            ("shamir_threshold".into(), MetaNode::Str("2".into())),
            (
                "key_groups".into(),
                MetaNode::List(vec![group("a"), group("b")]),
            ),
            (
                "lastmodified".into(),
                MetaNode::Str("2024-01-01T00:00:00Z".into()),
            ),
            ("mac".into(), MetaNode::Str("m".into())),
            ("mac_only_encrypted".into(), MetaNode::Str("true".into())),
            ("encrypted_regex".into(), MetaNode::Str("^data$".into())),
            ("version".into(), MetaNode::Str("3.13.2".into())),
        ]);
        let m = Metadata::from_node(&node).unwrap();
        assert_eq!(m.key_groups.len(), 2);
        assert_eq!(m.shamir_threshold, Some(2));
        assert!(m.mac_only_encrypted);
        assert_eq!(m.rule.field(), "encrypted_regex");
        assert_eq!(m.recipients(), ["a", "b"]);
    }

    #[test]
    fn key_version_round_trips_and_is_unknown_when_missing_or_mangled() {
        let mut m = sample();
        m.key_version = Some(KeyVersion {
            version: 7,
            created: "2025-03-01T10:00:00Z".into(),
        });
        let node = m.to_node();
        let MetaNode::Map(entries) = &node else {
            panic!()
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys[keys.len() - 2..],
            [KEY_VERSION_FIELD, KEY_CREATED_FIELD]
        );
        assert_eq!(
            Metadata::from_node(&node).unwrap().key_version,
            m.key_version
        );

        // Flattened formats hand every scalar over as a string.
        let MetaNode::Map(mut flat) = node.clone() else {
            panic!()
        };
        for (k, v) in &mut flat {
            if k == KEY_VERSION_FIELD {
                *v = MetaNode::Str("7".into());
            }
        }
        let back = Metadata::from_node(&MetaNode::Map(flat)).unwrap();
        assert_eq!(back.key_version.unwrap().version, 7);

        // A file sops rewrote has neither field; a hand-mangled one is
        // treated the same. Neither is an error.
        assert_eq!(
            Metadata::from_node(&sample().to_node())
                .unwrap()
                .key_version,
            None
        );
        let MetaNode::Map(mut bad) = node else {
            panic!()
        };
        for (k, v) in &mut bad {
            if k == KEY_CREATED_FIELD {
                *v = MetaNode::Str("last tuesday".into());
            }
        }
        assert_eq!(
            Metadata::from_node(&MetaNode::Map(bad))
                .unwrap()
                .key_version,
            None
        );
    }

    #[test]
    fn next_key_version_counts_up_or_restarts_when_unknown() {
        let now = "2025-01-01T00:00:00Z".to_string();
        assert_eq!(KeyVersion::next(None, now.clone()).version, 1);
        let v3 = KeyVersion {
            version: 3,
            created: now.clone(),
        };
        assert_eq!(KeyVersion::next(Some(&v3), now).version, 4);
    }

    #[test]
    fn refuses_what_sops_refuses() {
        assert!(check_semver("3.11.0").is_ok());
        assert!(check_semver("v3.9.0-rsops.1").is_ok());
        assert!(check_semver("rsops-1").is_err());
        assert!(check_semver("").is_err());
        let MetaNode::Map(mut entries) = sample().to_node() else {
            panic!()
        };
        entries.push(("encrypted_regex".into(), MetaNode::Str("x".into())));
        assert!(
            Metadata::from_node(&MetaNode::Map(entries)).is_err(),
            "two rules"
        );
    }
}
