//! Turning a `.sops.yaml` `path_regex` into `.gitattributes` patterns.
//!
//! sops matches `path_regex` unanchored against the path relative to the
//! config file's folder (Go's `regexp.MatchString`). A `.gitattributes` file
//! beside `.sops.yaml` matches patterns relative to the same folder, with
//! wildmatch rules: `*` stays inside one path component, `**/` spans
//! components, and a pattern without a slash matches the file name at any
//! depth. Only regexes whose translation is *exact* are translated: literal
//! text (with `\.`-style escapes), `.*`, `^` and `$`, where every `.*` that is
//! followed by more text comes right after a `/` or at the start. Anything
//! else returns `None`, and the caller lists the matching files instead.

/// One piece of a simple regex.
#[derive(Debug, PartialEq)]
enum Piece {
    Literal(String),
    Any,
}

/// Split a regex into literals and `.*`, or `None` if it uses anything else.
fn pieces(re: &str) -> Option<(bool, Vec<Piece>, bool)> {
    let mut s = re;
    let start = s.starts_with('^');
    if start {
        s = &s[1..];
    }
    let end = s.ends_with('$') && !s.ends_with("\\$");
    if end {
        s = &s[..s.len() - 1];
    }
    let mut out: Vec<Piece> = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                // Escaped punctuation is that character; `\d`, `\w`... are
                // classes and not translatable.
                if e.is_ascii_alphanumeric() {
                    return None;
                }
                lit.push(e);
            }
            '.' if chars.peek() == Some(&'*') => {
                chars.next();
                if !lit.is_empty() {
                    out.push(Piece::Literal(std::mem::take(&mut lit)));
                }
                if out.last() != Some(&Piece::Any) {
                    out.push(Piece::Any);
                }
            }
            c if c.is_ascii_alphanumeric() || "-_/@%,=~+:".contains(c) => lit.push(c),
            _ => return None,
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Literal(lit));
    }
    // Characters that mean something to wildmatch or .gitattributes cannot
    // be written literally in a pattern.
    if out
        .iter()
        .any(|p| matches!(p, Piece::Literal(l) if l.contains(['*', '?', '[', '\\', ' ', '#', '!'])))
    {
        return None;
    }
    Some((start, out, end))
}

/// The `.gitattributes` pattern matching exactly the paths `re` matches, if
/// there is one.
pub fn regex_to_glob(re: &str) -> Option<String> {
    let (start, mut ps, end) = pieces(re)?;
    // Unanchored ends are `.*` at that end.
    if !start && ps.first() != Some(&Piece::Any) {
        ps.insert(0, Piece::Any);
    }
    if !end && ps.last() != Some(&Piece::Any) {
        ps.push(Piece::Any);
    }
    if ps.iter().all(|p| *p == Piece::Any) {
        // Matches every path: written as one pattern, it would send every
        // file through shroud; the caller lists files instead.
        return None;
    }
    // `.*X$` with no slash in X: the file name ends with X, at any depth.
    if let [Piece::Any, Piece::Literal(x)] = ps.as_slice()
        && !x.contains('/')
    {
        return Some(format!("*{x}"));
    }
    let mut glob = String::new();
    let n = ps.len();
    for (i, p) in ps.iter().enumerate() {
        match p {
            Piece::Literal(l) => glob.push_str(l),
            Piece::Any if i == n - 1 => {
                // Trailing `.*`: anything below a directory.
                if !glob.ends_with('/') {
                    return None;
                }
                glob.push_str("**");
            }
            Piece::Any if i == 0 => glob.push_str("**/*"),
            Piece::Any => {
                // `dir/.*X`: any depth below dir, then a name ending in X.
                if !glob.ends_with('/') {
                    return None;
                }
                glob.push_str("**/*");
            }
        }
    }
    // A pattern with no slash would match at any depth; anchor it.
    if !glob.contains('/') {
        glob.insert(0, '/');
    }
    Some(glob)
}

/// Write a tracked file's path as a `.gitattributes` pattern matching only
/// it, or `None` if its name has characters a pattern cannot hold.
pub fn literal_pattern(path: &str) -> Option<String> {
    if path.contains(['*', '?', '[', '\\', ' ', '#', '!', '"', '\n', '\t']) {
        return None;
    }
    Some(format!("/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    /// Simple wildmatch for the patterns this module writes, to check that
    /// each translation matches the same paths as its regex.
    fn wildmatch(pat: &str, path: &str) -> bool {
        fn go(p: &[u8], s: &[u8]) -> bool {
            if p.starts_with(b"**/") {
                return go(&p[3..], s)
                    || s.iter()
                        .enumerate()
                        .any(|(i, &c)| c == b'/' && go(&p[3..], &s[i + 1..]));
            }
            if p == b"**" {
                return true;
            }
            match p.first() {
                None => s.is_empty(),
                Some(b'*') => (0..=s.len())
                    .take_while(|&i| i == 0 || s[i - 1] != b'/')
                    .any(|i| go(&p[1..], &s[i..])),
                Some(&c) => s.first() == Some(&c) && go(&p[1..], &s[1..]),
            }
        }
        match pat.strip_prefix('/') {
            Some(anchored) => go(anchored.as_bytes(), path.as_bytes()),
            None if !pat.contains('/') => {
                go(pat.as_bytes(), path.rsplit('/').next().unwrap().as_bytes())
            }
            None => go(pat.as_bytes(), path.as_bytes()),
        }
    }

    const PATHS: &[&str] = &[
        "secrets.yaml",
        "a.enc.yaml",
        "x/a.enc.yaml",
        "x/y/a.enc.yaml",
        "a.enc.yaml.bak",
        "secrets/db.yaml",
        "secrets/deep/db.yaml",
        "app/secrets/db.yaml",
        "mysecrets/db.yaml",
        "secrets/db.json",
        "prod/app.yaml",
        "prod/x/app.yaml",
        "production/app.yaml",
        "README.md",
    ];

    #[test]
    fn translations_match_the_same_paths_as_the_regex() {
        for (re, glob) in [
            (r"\.enc\.yaml$", "*.enc.yaml"),
            (r".*\.enc\.yaml$", "*.enc.yaml"),
            (r"^secrets/.*\.yaml$", "secrets/**/*.yaml"),
            (r"secrets/.*\.yaml$", "**/*secrets/**/*.yaml"),
            (r"^prod/", "prod/**"),
            (r"^prod/.*", "prod/**"),
            (r"^secrets\.yaml$", "/secrets.yaml"),
        ] {
            assert_eq!(regex_to_glob(re).as_deref(), Some(glob), "{re}");
            let r = Regex::new(re).unwrap();
            for p in PATHS {
                assert_eq!(r.is_match(p), wildmatch(glob, p), "{re} vs {glob} on {p}");
            }
        }
    }

    #[test]
    fn regexes_without_an_exact_glob_are_not_translated() {
        for re in [
            r"(dev|prod)/.*\.yaml$",
            r"^prod",
            r"secrets\d+\.yaml$",
            r"^a.b$",
            r".*",
            "",
            r"^x.*y.*z$",
        ] {
            assert_eq!(regex_to_glob(re), None, "{re}");
        }
    }
}
