//! The additional authenticated data (AAD) of each encrypted value.
//!
//! SOPS binds every ciphertext to its key path: the map keys from the root,
//! each followed by `:` (`db:password:`). List indices are not part of the
//! path, so all items of a list share their list's AAD, and a comment uses
//! the path of the map or list that holds it (`:` at the top level). Keys are
//! not escaped: `{"a:b": x}` and `{"a": {"b": x}}` share `a:b:`.

/// The AAD of a value (or comment) whose containing map keys are `path`.
use crate::document::Keys;

pub fn for_path(path: &(impl Keys + ?Sized)) -> String {
    let mut aad = String::new();
    write_for_path(path, &mut aad);
    aad
}

/// [`for_path`] into a reused buffer (the engine calls it once per value).
pub fn write_for_path(path: &(impl Keys + ?Sized), aad: &mut String) {
    aad.clear();
    for key in path.keys() {
        aad.push_str(key);
        aad.push(':');
    }
    if aad.is_empty() {
        aad.push(':');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn matches_the_spec_table() {
        // Rows of the spec's section 2.3.
        assert_eq!(for_path(&p(&["name"])), "name:");
        assert_eq!(
            for_path(&p(&["nested", "inner", "secret"])),
            "nested:inner:secret:"
        );
        assert_eq!(for_path(&p(&[])), ":");
        assert_eq!(for_path(&p(&["DEFAULT", "k"])), "DEFAULT:k:");
        assert_eq!(for_path(&p(&["  SPACED "])), "  SPACED :");
        assert_eq!(for_path(&p(&["a:b"])), for_path(&p(&["a", "b"])));
    }
}
