//! Output: the original text with each leaf's span replaced, in the style
//! of what was there, plus the metadata block. Never a re-serialisation.

use super::emit::{self, double_quote, plain_or_quoted, same_value, single_quote};
use super::parse::{ALIAS_TAG, Block, Chomp, Info, Parsed, Style};
use crate::document::{Decrypted, LeafKind, MetaNode, Plan, Replacement, Span, Value};
use crate::error::{FormatError, display_path};
use crate::formats::splice::{Edit, Fill, Spliced, Suffix, splice};

struct Ctx<'a> {
    src: &'a str,
    nl: &'static str,
}

pub fn plan<'s>(
    src: &'s str,
    p: &'s Parsed,
    edits: &'s [Replacement],
    metadata: Option<&MetaNode>,
) -> Result<Plan<'s>, FormatError> {
    crate::document::check_edit_count(edits, &p.leaves)?;
    let cx = Ctx {
        src,
        nl: line_break(src),
    };
    // About one edit per leaf: sized once rather than grown by doubling,
    // which copies the list and leaves up to half of it unused.
    let mut out: Vec<Edit> = Vec::with_capacity(p.leaves.len() + 2 * p.docs.len() + 2);
    let mut warnings = Vec::new();

    // Nodes shroud wrote for an expanded alias: back to `*name` when they
    // still hold the anchor's values, otherwise just drop the marker tag.
    let mut consumed = vec![
        false;
        if p.marked.is_empty() {
            0
        } else {
            p.leaves.len()
        }
    ];
    for m in &p.marked {
        if !m
            .leaves
            .clone()
            .any(|i| matches!(edits[i], Replacement::Decrypted(_)))
        {
            continue;
        }
        let same = m.anchor.is_some_and(|ai| {
            let a = &p.anchors[ai];
            let mine: Vec<usize> = m
                .leaves
                .clone()
                .filter(|&i| !p.leaves[i].is_comment())
                .collect();
            let theirs: Vec<usize> = a
                .leaves
                .clone()
                .filter(|&i| !p.leaves[i].is_comment())
                .collect();
            mine.len() == theirs.len()
                && a.leaves.end <= m.leaves.start
                && mine.iter().zip(&theirs).all(|(&x, &y)| {
                    match (value_after(p, edits, x), value_after(p, edits, y)) {
                        (Some(vx), Some(vy)) => same_value(vx, vy),
                        _ => false,
                    }
                })
        });
        if same {
            out.push(Edit::new(m.span.clone(), format!("*{}", m.name)));
            for i in m.leaves.clone() {
                consumed[i] = true;
            }
        } else {
            out.push(Edit::new(m.tag.clone(), ""));
        }
    }

    let mut expand = vec![false; p.aliases.len()];
    for (i, (leaf, rep)) in p.leaves.iter().zip(edits).enumerate() {
        if consumed.get(i).copied().unwrap_or(false) {
            continue;
        }
        let info = &p.infos[i];
        if let Info::Virtual { alias, .. } = info {
            if matches!(rep, Replacement::Encrypted(_)) {
                expand[*alias] = true;
            }
            continue;
        }
        let Some(span) = leaf.span.clone() else {
            continue;
        };
        check_span(src, &span, info)?;
        match rep {
            Replacement::Keep => {}
            Replacement::Encrypted(enc) => {
                if let Info::Comment = info {
                    out.push(Edit::new(span, enc.as_str()));
                } else {
                    out.extend(encrypted_edits(&cx, info, span, enc, false));
                }
            }
            Replacement::Decrypted(Decrypted::Comment(text)) => match info {
                Info::Comment => out.push(Edit::new(span, text.as_str())),
                Info::Scalar { dash: Some(d), .. } => {
                    // SOPS wrote a comment inside a list as a list item.
                    out.push(Edit::new(*d..span.end, format!("#{}", text.as_str())));
                }
                _ => {
                    warnings.push(format!(
                        "a comment at {} was stored as a value and is kept as a string",
                        display_path(&leaf.path())
                    ));
                    let t = format!("#{}", text.as_str());
                    let v = Value::str(t.as_str());
                    out.extend(
                        decrypted_edits(&cx, info, span, &v, &t)
                            .into_iter()
                            .map(|e| Edit::new(e.span, e.text.into_owned())),
                    );
                }
            },
            Replacement::Decrypted(Decrypted::Scalar { value, text }) => match info {
                Info::Comment => out.push(Edit::new(span, text.as_str())),
                _ => out.extend(decrypted_edits(&cx, info, span, value, text)),
            },
        }
    }

    for (ai, alias) in p.aliases.iter().enumerate() {
        if !expand[ai] {
            continue;
        }
        let text = expand_alias(&cx, p, edits, ai)?;
        out.push(Edit::new(alias.span.clone(), text));
        warnings.push(format!(
            "the alias *{} reaches encrypted values, so it was written out as a copy \
             (decrypting gives the alias back)",
            alias.name
        ));
    }

    let eat_nl = metadata_edits(&cx, p, metadata, &mut out)?;
    let mut spliced = Spliced::new(src, out)?;
    if eat_nl && metadata.is_none() {
        spliced = spliced.drop_final_newline();
    }
    Ok(Plan::spliced(spliced, warnings))
}

/// The line break the output uses: CRLF only when every line break of the
/// file is CRLF. Usually the first line already says no, so the whole text
/// is not scanned.
fn line_break(src: &str) -> &'static str {
    let b = src.as_bytes();
    let all_crlf = |first: usize| {
        b[first..]
            .iter()
            .enumerate()
            .all(|(i, &c)| c != b'\n' || b[first + i - 1] == b'\r')
    };
    match b.iter().position(|&c| c == b'\n') {
        Some(first) if first > 0 && b[first - 1] == b'\r' && all_crlf(first) => "\r\n",
        _ => "\n",
    }
}

/// The edits that remove the old metadata blocks and write `metadata`;
/// whether the output's final line break goes with the removed block.
fn metadata_edits(
    cx: &Ctx<'_>,
    p: &Parsed,
    metadata: Option<&MetaNode>,
    out: &mut Vec<Edit<'_>>,
) -> Result<bool, FormatError> {
    let (src, nl) = (cx.src, cx.nl);
    let mut eat_nl = false;
    for doc in &p.docs {
        if let Some((r, eat)) = &doc.meta_removal {
            out.push(Edit::new(r.clone(), ""));
            eat_nl |= eat;
        }
    }
    if let Some(meta) = metadata {
        let block = emit::metadata_block(meta, nl);
        let docs = if p.docs.is_empty() { 1 } else { p.docs.len() };
        for d in 0..docs {
            let doc = p.docs.get(d);
            if let Some((close, (before, after))) = doc.and_then(|d| d.flow_root) {
                out.push(Edit::insert(
                    close,
                    format!("{before}sops: {}{after}", emit::metadata_json(meta)),
                ));
                continue;
            }
            let at = doc.and_then(|d| d.insert_at).unwrap_or(src.len());
            let indent = doc.map_or("", |d| d.root_indent.as_str());
            if indent.contains('\t') {
                return Err(FormatError::CannotRepresent {
                    path: "sops".into(),
                    format: "yaml",
                    reason: "the top-level keys are indented with a tab, so the metadata cannot line up with them".into(),
                });
            }
            let block = if indent.is_empty() {
                block.clone()
            } else {
                block
                    .split_inclusive('\n')
                    .map(|l| {
                        if l.trim().is_empty() {
                            l.to_string()
                        } else {
                            format!("{indent}{l}")
                        }
                    })
                    .collect()
            };
            if at == src.len() && !src.is_empty() && !src.ends_with('\n') {
                let body = block.strip_suffix(nl).unwrap_or(&block);
                let sep = if eat_nl { "" } else { nl };
                out.push(Edit::insert(at, format!("{sep}{body}")));
            } else {
                out.push(Edit::insert(at, block.clone()));
            }
        }
    }
    Ok(eat_nl)
}

/// [`plan`] for encrypting, with every `ENC[...]` text filled in while
/// writing (see [`crate::document::Document::plan_filled`]). `None` when an
/// alias reaches a value to encrypt: it is written out as a copy of its
/// anchor, which needs the texts.
pub fn plan_filled<'s>(
    src: &'s str,
    p: &'s Parsed,
    encrypt: &[bool],
    metadata: &MetaNode,
) -> Result<Option<Spliced<'s>>, FormatError> {
    if encrypt.len() != p.leaves.len() {
        return Err(FormatError::SpanCheck(format!(
            "{} edits for {} leaves",
            encrypt.len(),
            p.leaves.len()
        )));
    }
    let cx = Ctx {
        src,
        nl: line_break(src),
    };
    let mut out: Vec<Edit> =
        Vec::with_capacity(encrypt.iter().filter(|&&e| e).count() + 2 * p.docs.len() + 2);
    // Nodes marked as expanded aliases only change when something in them
    // is decrypted, which encrypting never does.
    for (i, leaf) in p.leaves.iter().enumerate() {
        if !encrypt[i] {
            continue;
        }
        let info = &p.infos[i];
        if let Info::Virtual { .. } = info {
            return Ok(None);
        }
        let Some(span) = leaf.span.clone() else {
            continue;
        };
        check_span(src, &span, info)?;
        let Ok(slot) = u32::try_from(i) else {
            return Ok(None);
        };
        out.push(match info {
            Info::Comment => Edit::filled(span, "", fill(slot, 0, Suffix::None)),
            _ => filled_edit(&cx, info, span, slot),
        });
    }
    metadata_edits(&cx, p, Some(metadata), &mut out)?;
    Ok(Some(Spliced::new(src, out)?))
}

fn fill(slot: u32, skip: u8, suffix: Suffix) -> Fill {
    Fill { slot, skip, suffix }
}

/// [`encrypted_edits`] with the `ENC[...]` text left to fill in: the same
/// output for every style, since the text never needs escaping.
fn filled_edit<'e>(cx: &Ctx<'_>, info: &Info, span: Span, slot: u32) -> Edit<'e> {
    let Info::Scalar {
        style,
        flow,
        block,
        parent_col,
        ..
    } = info
    else {
        return Edit::filled(span, "", fill(slot, 0, Suffix::None));
    };
    match style {
        // As flow_plain_enc: the first letter escaped.
        Style::Plain if *flow => Edit::filled(span, "\"\\x45", fill(slot, 1, Suffix::DoubleQuote)),
        Style::Plain => Edit::filled(span, "", fill(slot, 0, Suffix::None)),
        Style::Single => Edit::filled(span, "'", fill(slot, 0, Suffix::SingleQuote)),
        Style::Double => Edit::filled(span, "\"", fill(slot, 0, Suffix::DoubleQuote)),
        Style::Literal | Style::Folded => match block {
            Some(b) => {
                let (text, line_end) = enc_block_layout(cx, b, *parent_col);
                let suffix = match (line_end, cx.nl) {
                    (false, _) => Suffix::None,
                    (true, "\r\n") => Suffix::CrLf,
                    (true, _) => Suffix::Lf,
                };
                Edit::filled(b.content.clone(), text, fill(slot, 0, suffix))
            }
            None => Edit::filled(span, "", fill(slot, 0, Suffix::None)),
        },
    }
}

/// The value a leaf will hold after rendering.
fn value_after<'a>(p: &'a Parsed, edits: &'a [Replacement], i: usize) -> Option<&'a Value> {
    match &edits[i] {
        Replacement::Decrypted(Decrypted::Scalar { value, .. }) => Some(value),
        Replacement::Keep => match &p.leaves[i].kind {
            LeafKind::Scalar { value, .. } => Some(value),
            LeafKind::Comment(_) | LeafKind::Structure(_) => None,
        },
        _ => None,
    }
}

/// Refuse to write when a span does not hold what the parser saw.
fn check_span(src: &str, span: &Span, info: &Info) -> Result<(), FormatError> {
    let ok = span.start <= span.end
        && span.end <= src.len()
        && src.is_char_boundary(span.start)
        && src.is_char_boundary(span.end)
        && match info {
            Info::Scalar { style, .. } => {
                let t = &src[span.clone()];
                match style {
                    Style::Single => t.starts_with('\'') && t.ends_with('\'') && t.len() >= 2,
                    Style::Double => t.starts_with('"') && t.ends_with('"') && t.len() >= 2,
                    Style::Literal => t.starts_with('|'),
                    Style::Folded => t.starts_with('>'),
                    Style::Plain => true,
                }
            }
            _ => true,
        };
    if ok {
        Ok(())
    } else {
        Err(FormatError::SpanCheck(format!(
            "span {}..{} does not hold its scalar",
            span.start, span.end
        )))
    }
}

/// Edits that put `enc` where a scalar was, in the scalar's style.
fn encrypted_edits<'e>(
    cx: &Ctx<'_>,
    info: &Info,
    span: Span,
    enc: &'e str,
    force_flow: bool,
) -> Vec<Edit<'e>> {
    let Info::Scalar {
        style,
        flow,
        block,
        parent_col,
        ..
    } = info
    else {
        return vec![Edit::new(span, enc)];
    };
    let flow = *flow || force_flow;
    match style {
        Style::Plain if flow => vec![Edit::new(span, flow_plain_enc(enc))],
        Style::Plain => vec![Edit::new(span, enc)],
        Style::Single => vec![Edit::new(
            span,
            single_quote(enc).unwrap_or_else(|| double_quote(enc)),
        )],
        Style::Double => vec![Edit::new(span, double_quote(enc))],
        Style::Literal | Style::Folded => match block {
            Some(b) => {
                if enc.is_empty() {
                    return Vec::new();
                }
                let (mut text, line_end) = enc_block_layout(cx, b, *parent_col);
                text.push_str(enc);
                if line_end {
                    text.push_str(cx.nl);
                }
                vec![Edit::new(b.content.clone(), text)]
            }
            None => vec![Edit::new(span, enc)],
        },
    }
}

/// Where an `ENC[...]` text goes in a block scalar's content: the text
/// before it (a line break if the content starts at the very end of a file
/// without one, then the indentation) and whether a line break follows it.
/// Shared by the whole-document and the chunked plans.
fn enc_block_layout(cx: &Ctx<'_>, b: &Block, parent_col: usize) -> (String, bool) {
    let indent = if b.indent > 0 {
        b.indent
    } else {
        parent_col + 2
    };
    let mut text = String::new();
    if b.content.start == cx.src.len() && !cx.src.ends_with('\n') {
        text.push_str(cx.nl);
    }
    text.push_str(&" ".repeat(indent));
    let line_end = cx.src[b.content.clone()].ends_with('\n') || b.content.is_empty();
    (text, line_end)
}

/// A plain `ENC[...]` cannot stand in flow context (`,[]` are indicators):
/// write it double-quoted with the first letter escaped, which is the same
/// string but tells shroud that the original was plain.
fn flow_plain_enc(enc: &str) -> String {
    match enc.strip_prefix('E') {
        Some(rest) => format!(
            "\"\\x45{}\"",
            &double_quote(rest)[1..double_quote(rest).len() - 1]
        ),
        None => double_quote(enc),
    }
}

/// Edits that put a decrypted value where an `ENC[...]` scalar was.
fn decrypted_edits<'e>(
    cx: &Ctx<'_>,
    info: &Info,
    span: Span,
    value: &'e Value,
    text: &'e str,
) -> Vec<Edit<'e>> {
    let Info::Scalar {
        style,
        flow,
        block,
        str_tag,
        ..
    } = info
    else {
        return vec![Edit::new(span, text)];
    };
    if *str_tag
        && *style == Style::Plain
        && let Value::Str(s) = value
        && super::resolve::plain_text_ok(s, *flow)
    {
        return vec![Edit::new(span, s.as_str())];
    }
    let was_plain = *style == Style::Plain
        || (*style == Style::Double && cx.src[span.clone()].starts_with("\"\\x45"));
    let s = match value {
        Value::Str(s) => Some(s.as_str()),
        _ => None,
    };
    match (style, s) {
        _ if was_plain => vec![Edit::new(span, plain_or_quoted(value, text, *flow))],
        (Style::Single, Some(s)) => {
            vec![Edit::new(
                span,
                single_quote(s).unwrap_or_else(|| double_quote(s)),
            )]
        }
        (Style::Double, Some(s)) => vec![Edit::new(span, double_quote(s))],
        (Style::Literal | Style::Folded, Some(s)) => match block {
            Some(b) => block_edits(cx, b, *style == Style::Folded, s),
            None => vec![Edit::new(span, double_quote(s))],
        },
        (Style::Literal | Style::Folded, None) => match block {
            Some(b) => vec![
                Edit::new(b.header.clone(), plain_or_quoted(value, text, false)),
                Edit::new(b.content.clone(), ""),
            ],
            None => vec![Edit::new(span, plain_or_quoted(value, text, *flow))],
        },
        _ => vec![Edit::new(span, plain_or_quoted(value, text, *flow))],
    }
}

/// Rebuild a block scalar's content for `v` under the existing header;
/// a folded block that would not read back the same becomes literal.
fn block_edits(cx: &Ctx<'_>, b: &Block, folded: bool, v: &str) -> Vec<Edit<'static>> {
    let header = &cx.src[b.header.clone()];
    let explicit_indent = header.bytes().any(|c| c.is_ascii_digit());
    let chomp_ok = match b.chomp {
        Chomp::Strip => !v.ends_with('\n'),
        Chomp::Clip => v.is_empty() || (v.ends_with('\n') && !v.ends_with("\n\n")),
        Chomp::Keep => v.is_empty() || v.ends_with('\n'),
    };
    let chars_ok = v
        .chars()
        .all(|c| c == '\n' || (c != '\r' && emit::printable(c)));
    let first_line = v.split('\n').find(|l| !l.is_empty()).unwrap_or("");
    // A leading space would be read as indentation; a leading tab is content
    // (tabs never indent), as in the original block.
    let lead_ok = explicit_indent || !first_line.starts_with(' ');
    // Lines of only spaces before the first text line would be taken as
    // indentation.
    let blank_lead_ok = v
        .split('\n')
        .take_while(|l| l.trim().is_empty())
        .all(|l| l.is_empty());
    if !(chomp_ok && chars_ok && lead_ok && blank_lead_ok) || b.indent == 0 {
        return vec![
            Edit::new(b.header.clone(), double_quote(v)),
            Edit::new(b.content.clone(), ""),
        ];
    }
    let mut edits = Vec::new();
    let body = v.trim_end_matches('\n');
    if folded && (body.contains('\n') || body.starts_with([' ', '\t'])) {
        // Folding would change this text: keep the value, not the layout.
        edits.push(Edit::new(b.header.start..b.header.start + 1, "|"));
    }
    let pad = " ".repeat(b.indent);
    let mut text = String::with_capacity(v.len() + 16);
    for line in v.split_inclusive('\n') {
        let (l, has_nl) = match line.strip_suffix('\n') {
            Some(l) => (l, true),
            None => (line, false),
        };
        if !l.is_empty() {
            text.push_str(&pad);
            text.push_str(l);
        }
        if has_nl {
            text.push_str(cx.nl);
        }
    }
    if !v.is_empty() && !v.ends_with('\n') {
        text.push_str(cx.nl);
    }
    // At the very end of a file without a final newline.
    if !cx.src[b.content.clone()].ends_with('\n')
        && !b.content.is_empty()
        && let Some(t) = text.strip_suffix(cx.nl)
    {
        text = t.to_string();
    }
    edits.push(Edit::new(b.content.clone(), text));
    edits
}

/// The text that replaces `*name` when values under the alias are
/// encrypted: a tagged copy of the anchored node.
fn expand_alias(
    cx: &Ctx<'_>,
    p: &Parsed,
    edits: &[Replacement],
    ai: usize,
) -> Result<String, FormatError> {
    let alias = &p.aliases[ai];
    let a = &p.anchors[alias.anchor];
    let cannot = |reason: &str| FormatError::CannotRepresent {
        path: p
            .leaves
            .get(alias.leaves.start)
            .map_or_else(|| display_path(&[] as &[&str]), |l| display_path(&l.path())),
        format: "yaml",
        reason: reason.to_string(),
    };
    let tag = format!("{ALIAS_TAG}{}", alias.name);
    if !alias
        .name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        return Err(cannot("the alias name cannot be written as a tag"));
    }
    if a.scalar {
        let Some(i) = alias.leaves.clone().next() else {
            return Err(cannot("nothing to expand"));
        };
        let Replacement::Encrypted(enc) = &edits[i] else {
            return Err(cannot("nothing to expand"));
        };
        let text = if alias.flow {
            flow_plain_enc(enc)
        } else {
            enc.clone()
        };
        return Ok(format!("{tag} {text}"));
    }
    if alias.flow && !a.flow {
        return Err(cannot(
            "a block collection cannot be copied into flow context",
        ));
    }
    let base = a.node.start;
    let mut rel = Vec::new();
    for v in alias.leaves.clone() {
        let Info::Virtual { source, .. } = p.infos[v] else {
            continue;
        };
        if let Replacement::Encrypted(enc) = &edits[v] {
            let (Some(span), info) = (p.leaves[source].span.clone(), &p.infos[source]) else {
                return Err(cannot("the anchored node holds another alias"));
            };
            if matches!(info, Info::Virtual { .. }) {
                return Err(cannot("the anchored node holds another alias"));
            }
            for e in encrypted_edits(cx, info, span, enc, false) {
                if e.span.start < base || e.span.end > a.node.end {
                    return Err(cannot("the anchored node's layout is not supported"));
                }
                rel.push(Edit::new(e.span.start - base..e.span.end - base, e.text));
            }
        }
    }
    // Comments of the anchored node are not copied (SOPS does not see them
    // under the alias either).
    for j in a.leaves.clone() {
        if let (LeafKind::Comment(_), Some(span)) = (&p.leaves[j].kind, &p.leaves[j].span)
            && span.start >= base
            && span.end <= a.node.end
        {
            rel.push(Edit::new(span.start - base..span.end - base, ""));
        }
    }
    let copy = splice(&cx.src[a.node.clone()], rel)?;
    if a.flow {
        return Ok(format!("{tag} {copy}"));
    }
    let mut out = format!("{tag}{}{}", cx.nl, " ".repeat(alias.indent));
    for (n, line) in copy.split_inclusive('\n').enumerate() {
        if n == 0 {
            out.push_str(line);
            continue;
        }
        let lead = line.bytes().take_while(|&c| c == b' ').count();
        if line.trim_end_matches(['\r', '\n']).is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&" ".repeat(alias.indent + lead.saturating_sub(a.col)));
            out.push_str(&line[lead..]);
        }
    }
    Ok(out)
}
