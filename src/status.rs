//! `shroud status`: what needs doing to one file, as a list of findings.
//!
//! Each check adds at most one [`Finding`]; a file with no findings is in
//! order. A new check (say, "lacks shroud's integrity authenticator") is one
//! more variant with its `kind`, `message`, and a line in [`check`] or in
//! the caller that knows the fact.

use crate::config::CreationRule;
use crate::crypto::DataKey;
use crate::document::Document;
use crate::engine::{self, DecryptOptions};
use crate::formats::Format;
use crate::metadata::Metadata;

/// One thing wrong with a file. Most findings need action (`status` exits
/// non-zero when any file has one); [`Finding::needs_action`] says which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A creation rule's `path_regex` matches the file, but it is plaintext.
    NotEncrypted { rule: usize },
    /// The file's age recipients differ from its creation rule's
    /// (`shroud updatekeys` fixes it).
    RecipientsOutOfSync {
        missing: Vec<String>,
        extra: Vec<String>,
        /// The key groups or threshold differ too (or only).
        groups_differ: bool,
    },
    /// The data key is older than the rule's `shroud_max_key_age`.
    RotationOverdue { age_seconds: i64, max: String },
    /// The rule sets a maximum age but the file does not record when its
    /// key was made (another tool rewrote it), so the policy cannot be met.
    KeyAgeUnknown { max: String },
    /// The file could not be read or understood.
    Unreadable { error: String },
    /// The encrypted file has no `shroud_auth` (sops wrote it, or the field
    /// was stripped: a downgrade). Seen without any key. It needs action
    /// only under strict mode, where shroud refuses to open such a file.
    MissingAuth { strict: bool },
    /// The user's identities open the file, but its SOPS MAC or its
    /// `shroud_auth` does not match, or a value does not decrypt: it was
    /// changed by someone without the data key. `error` names the check
    /// (and a key path), never a value.
    AuthInvalid { error: String },
}

impl Finding {
    /// A stable machine name (the `kind` in `--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::NotEncrypted { .. } => "not_encrypted",
            Finding::RecipientsOutOfSync { .. } => "recipients_out_of_sync",
            Finding::RotationOverdue { .. } => "rotation_overdue",
            Finding::KeyAgeUnknown { .. } => "key_age_unknown",
            Finding::Unreadable { .. } => "unreadable",
            Finding::MissingAuth { .. } => "missing_auth",
            Finding::AuthInvalid { .. } => "auth_invalid",
        }
    }

    /// Whether the finding makes `status` exit non-zero. A missing
    /// `shroud_auth` outside strict mode is only a warning: sops-written
    /// files are normal in a mixed team, and shroud still opens them.
    pub fn needs_action(&self) -> bool {
        !matches!(self, Finding::MissingAuth { strict: false })
    }

    /// One line for people, saying what to do.
    pub fn message(&self) -> String {
        match self {
            Finding::NotEncrypted { rule } => format!(
                "not encrypted, but creation rule {} matches it (shroud encrypt -i)",
                rule + 1
            ),
            Finding::RecipientsOutOfSync {
                missing,
                extra,
                groups_differ,
            } => {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("{} recipient(s) missing", missing.len()));
                }
                if !extra.is_empty() {
                    parts.push(format!("{} recipient(s) not in the rule", extra.len()));
                }
                if parts.is_empty() && *groups_differ {
                    parts.push("key groups differ".to_string());
                }
                format!(
                    "recipients out of sync with .sops.yaml: {} (shroud updatekeys)",
                    parts.join(", ")
                )
            }
            Finding::RotationOverdue { age_seconds, max } => format!(
                "rotation overdue: key is {} old, policy allows {max} (shroud rotate -i)",
                human_age(*age_seconds)
            ),
            Finding::KeyAgeUnknown { max } => {
                format!("key age unknown (not recorded), policy allows {max} (shroud rotate -i)")
            }
            Finding::Unreadable { error } => format!("cannot read: {error}"),
            Finding::MissingAuth { strict } => format!(
                "{}no shroud_auth (written by sops, or removed){} (shroud rotate -i)",
                if *strict { "" } else { "warning: " },
                if *strict {
                    ", refused in strict mode"
                } else {
                    ": keys, types, comments and metadata are not authenticated"
                }
            ),
            Finding::AuthInvalid { error } => format!(
                "integrity check failed, the file was changed without the data key: {error}"
            ),
        }
    }
}

/// `36h`, `12d`: the unit that keeps the number readable.
pub fn human_age(seconds: i64) -> String {
    if seconds < 2 * 86_400 {
        format!("{}h", seconds / 3600)
    } else {
        format!("{}d", seconds / 86_400)
    }
}

/// What `status` reports about one encrypted file.
#[derive(Clone, Debug, Default)]
pub struct KeyState {
    pub version: Option<u64>,
    pub created: Option<String>,
    pub age_seconds: Option<i64>,
}

/// The key facts of `meta` at time `now`.
pub fn key_state(meta: &Metadata, now: jiff::Timestamp) -> KeyState {
    let kv = meta.key_version.as_ref();
    KeyState {
        version: kv.map(|k| k.version),
        created: kv.map(|k| k.created.clone()),
        age_seconds: kv
            .and_then(|k| k.created_at())
            .map(|c| now.as_second() - c.as_second()),
    }
}

/// The checks on an encrypted file against the creation rule matching it.
pub fn check(meta: &Metadata, rule: &CreationRule, key: &KeyState) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !rule.key_groups.is_empty() {
        let have: Vec<Vec<String>> = meta
            .key_groups
            .iter()
            .map(|g| g.age.iter().map(|k| k.recipient.clone()).collect())
            .collect();
        let flat = |g: &[Vec<String>]| g.iter().flatten().cloned().collect::<Vec<_>>();
        let (have_all, want_all) = (flat(&have), flat(&rule.key_groups));
        let missing: Vec<String> = want_all
            .iter()
            .filter(|r| !have_all.contains(r))
            .cloned()
            .collect();
        let extra: Vec<String> = have_all
            .iter()
            .filter(|r| !want_all.contains(r))
            .cloned()
            .collect();
        let threshold = rule.shamir_threshold.or(meta.shamir_threshold);
        let groups_differ =
            have != rule.key_groups || (have.len() >= 2 && threshold != meta.shamir_threshold);
        if groups_differ {
            findings.push(Finding::RecipientsOutOfSync {
                missing,
                extra,
                groups_differ,
            });
        }
    }
    if let Some(max) = &rule.max_key_age {
        match key.age_seconds {
            Some(age) if age > max.seconds => findings.push(Finding::RotationOverdue {
                age_seconds: age,
                max: max.text.clone(),
            }),
            Some(_) => {}
            None => findings.push(Finding::KeyAgeUnknown {
                max: max.text.clone(),
            }),
        }
    }
    findings
}

/// What the `shroud_auth` check found about one encrypted file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthState {
    /// The `sops` block carries a `shroud_auth` field.
    pub present: bool,
    /// `Some(true)`: opened with the user's identities and the SOPS MAC and
    /// `shroud_auth` (when present) match; `Some(false)`: they do not;
    /// `None`: not opened (no identity at hand).
    pub verified: Option<bool>,
}

/// Whether the encrypted `doc` carries `shroud_auth` (no key needed).
pub fn has_auth(doc: &dyn Document) -> bool {
    doc.metadata()
        .and_then(|n| n.get(crate::integrity::FIELD))
        .is_some_and(|v| !matches!(v, crate::document::MetaNode::Null))
}

/// Check the SOPS MAC, every value and `shroud_auth` of `doc` with its
/// data key, without keeping any plaintext: the error of the first check
/// that fails, or `None` when all pass. A missing `shroud_auth` is not an
/// error here ([`has_auth`] reports it).
pub fn verify(
    format: Format,
    doc: &dyn Document,
    meta: &Metadata,
    key: &DataKey,
) -> Option<Finding> {
    let options = DecryptOptions {
        ignore_mac: false,
        require_auth: false,
    };
    // What is decrypted is zeroizing and dropped at once. A binary file's
    // value is its raw bytes with a MAC of its own (not the leaf walk).
    let result = if format == Format::Binary {
        crate::formats::binary::decrypt(doc, meta, key, options).map(drop)
    } else {
        engine::decrypt_leaves(doc, meta, key, options).map(drop)
    };
    result.err().map(|e| Finding::AuthInvalid {
        error: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MaxKeyAge;
    use crate::metadata::{AgeKey, KeyGroup, KeyVersion};

    fn meta(recipients: &[&str], created: Option<&str>) -> Metadata {
        Metadata {
            key_groups: vec![KeyGroup {
                age: recipients
                    .iter()
                    .map(|r| AgeKey {
                        recipient: r.to_string(),
                        enc: String::new(),
                    })
                    .collect(),
                other: vec![],
            }],
            shamir_threshold: None,
            lastmodified: "2025-01-01T00:00:00Z".into(),
            mac: String::new(),
            rule: Default::default(),
            mac_only_encrypted: false,
            version: "3.11.0".into(),
            key_version: created.map(|c| KeyVersion {
                version: 4,
                created: c.into(),
            }),
        }
    }

    fn rule(recipients: &[&str], max: Option<&str>) -> CreationRule {
        CreationRule {
            key_groups: vec![recipients.iter().map(|r| r.to_string()).collect()],
            max_key_age: max.and_then(MaxKeyAge::parse),
            ..Default::default()
        }
    }

    fn now() -> jiff::Timestamp {
        "2025-04-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn in_sync_and_young_enough_is_clean() {
        let m = meta(&["a", "b"], Some("2025-03-01T00:00:00Z"));
        let k = key_state(&m, now());
        assert_eq!(k.version, Some(4));
        assert_eq!(k.age_seconds, Some(31 * 86_400));
        assert_eq!(check(&m, &rule(&["a", "b"], Some("90d")), &k), vec![]);
    }

    #[test]
    fn names_missing_and_extra_recipients() {
        let m = meta(&["a", "old"], Some("2025-03-01T00:00:00Z"));
        let f = check(&m, &rule(&["a", "new"], None), &key_state(&m, now()));
        assert_eq!(
            f,
            vec![Finding::RecipientsOutOfSync {
                missing: vec!["new".into()],
                extra: vec!["old".into()],
                groups_differ: true
            }]
        );
        assert!(f[0].message().contains("updatekeys"));
    }

    #[test]
    fn overdue_and_unknown_ages_under_a_policy() {
        let m = meta(&["a"], Some("2024-12-01T00:00:00Z"));
        let f = check(&m, &rule(&["a"], Some("90d")), &key_state(&m, now()));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind(), "rotation_overdue");
        assert!(f[0].message().contains("121d"), "{}", f[0].message());

        let m = meta(&["a"], None);
        let f = check(&m, &rule(&["a"], Some("90d")), &key_state(&m, now()));
        assert_eq!(f, vec![Finding::KeyAgeUnknown { max: "90d".into() }]);
        // Without a policy an unknown age is only a fact, not a finding.
        assert_eq!(
            check(&m, &rule(&["a"], None), &key_state(&m, now())),
            vec![]
        );
    }

    #[test]
    fn a_missing_authenticator_needs_action_only_in_strict_mode() {
        let lax = Finding::MissingAuth { strict: false };
        let strict = Finding::MissingAuth { strict: true };
        assert!(!lax.needs_action() && strict.needs_action());
        assert!(lax.message().starts_with("warning:"), "{}", lax.message());
        assert!(strict.message().contains("strict"), "{}", strict.message());
        assert!(Finding::AuthInvalid { error: "x".into() }.needs_action());
        assert!(Finding::KeyAgeUnknown { max: "1d".into() }.needs_action());
    }
}
