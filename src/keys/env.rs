//! Where key discovery reads its environment from.
//!
//! Identity discovery depends on a dozen environment variables and on the
//! home directory. Passing them explicitly (instead of calling
//! `std::env::var` deep inside) lets tests describe a whole environment in
//! one map and never touch the developer's real keys.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

type VarFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// A set of environment variables plus a home directory.
pub struct EnvSource {
    vars: Box<VarFn>,
    home: Option<PathBuf>,
}

impl EnvSource {
    /// The real process environment.
    pub fn process() -> EnvSource {
        let home_var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
        let home = std::env::var_os(home_var)
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        EnvSource {
            vars: Box::new(|k| std::env::var(k).ok()),
            home,
        }
    }

    /// A fixed environment, for tests and for callers that sandbox discovery.
    pub fn from_map<K, V>(
        vars: impl IntoIterator<Item = (K, V)>,
        home: Option<PathBuf>,
    ) -> EnvSource
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        EnvSource {
            vars: Box::new(move |k| map.get(k).cloned()),
            home,
        }
    }

    /// The value of `name`. Empty values count as unset: an exported but
    /// empty `SOPS_AGE_KEY_FILE=` is far more often a leftover than a request
    /// to open a file called "".
    pub fn var(&self, name: &str) -> Option<String> {
        (self.vars)(name).filter(|v| !v.is_empty())
    }

    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }
}

impl fmt::Debug for EnvSource {
    // Variables may hold key material (SOPS_AGE_KEY), so they are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSource")
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}
