//! Writes `openapi.yaml` so that every YAML reader reads the same values.
//!
//! YAML 1.1 readers (PyYAML, SnakeYAML: most OpenAPI tools) resolve more plain scalars than
//! YAML 1.2 ones: `10:00` is the integer 600, `on` is `true`, `2024-01-01` is a date. A generic
//! serializer quotes only what its own (1.2) reader would misread. Here a string is written
//! plain only if it cannot be read as anything but that string under either version; otherwise
//! single-quoted, or double-quoted with escapes where it holds characters a reader would fold
//! or drop. Multi-line text (descriptions) stays a readable `|` block where that is exact.

use serde_json::Value;

/// The document as block YAML, two spaces per level, keys in the order of the value.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            write_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        push_indent(out, indent);
        write_string(out, key, indent, true);
        out.push(':');
        write_value_after(out, value, indent, true);
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        push_indent(out, indent);
        out.push('-');
        match item {
            // `- key: value` with the rest of the mapping aligned under `key`.
            Value::Object(map) if !map.is_empty() => {
                out.push(' ');
                let mut first = true;
                for (key, value) in map {
                    if !first {
                        push_indent(out, indent + 2);
                    }
                    first = false;
                    write_string(out, key, indent + 2, true);
                    out.push(':');
                    write_value_after(out, value, indent + 2, true);
                }
            }
            _ => write_value_after(out, item, indent, false),
        }
    }
}

/// A value after `key:` or `-`: collections start on the next line (a sequence under a key at
/// the key's own indentation, as most writers do), scalars on the same line.
fn write_value_after(out: &mut String, value: &Value, indent: usize, under_key: bool) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, if under_key { indent } else { indent + 2 });
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, indent + 2);
            out.push('\n');
        }
    }
}

fn write_scalar(out: &mut String, value: &Value, block_indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s, block_indent, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Floats keep a `.` and a signed exponent: YAML 1.1 reads `1e5` as a string.
fn write_number(out: &mut String, n: &serde_json::Number) {
    let text = n.to_string();
    if !n.is_f64() || text.contains('.') && !text.contains(['e', 'E']) {
        out.push_str(&text);
        return;
    }
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((&text, ""));
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    if !exponent.is_empty() {
        out.push('e');
        if !exponent.starts_with(['-', '+']) {
            out.push('+');
        }
        out.push_str(exponent);
    }
}

fn write_string(out: &mut String, s: &str, block_indent: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && is_block_safe(s) {
        write_block(out, s, block_indent);
    } else if s.chars().all(|c| is_printable(c) && c != '\n') {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        write_double_quoted(out, s);
    }
}

/// Whether `s` reads back as this same string when written plain, in YAML 1.1 and 1.2 alike.
/// Deliberately narrower than the grammar: anything that starts like a number, a date, a null,
/// a boolean word or an indicator is quoted.
pub fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_alphabetic() || first == '_' || first == '/' || first == '$' || first == '(') {
        return false;
    }
    if s.ends_with([' ', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.chars()
            .any(|c| !is_printable(c) || c == '\t' || c == '\n')
    {
        return false;
    }
    !is_keyword(s)
}

/// Words some YAML reader takes for a boolean or null (1.1's `y`/`n`/`yes`/`on`/..., 1.2's
/// `true`/`null` in any case), compared without case so that no spelling slips through.
fn is_keyword(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "infinity",
    ];
    WORDS.iter().any(|word| s.eq_ignore_ascii_case(word))
}

/// Characters every reader keeps as they are: no controls (beyond the line feed, handled by
/// the caller), no line or paragraph separators or NEL (line breaks in YAML 1.1), no BOM.
fn is_printable(c: char) -> bool {
    !(c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{85}'))
        || c == '\n'
        || c == '\t'
}

/// A `|` block reproduces `s` exactly when: it has a line break, every line is printable text
/// without tabs, the first line does not start with a space (the block's indentation would be
/// read from it), no line is only spaces (a reader may take it as the block's indentation),
/// and it ends with at most one line break (`|` keeps one, `|-` none).
fn is_block_safe(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    s.contains('\n')
        && !body.ends_with('\n')
        && !s.starts_with(' ')
        && s.chars()
            .all(|c| c == '\n' || (is_printable(c) && c != '\t'))
        && body
            .split('\n')
            .all(|line| line.is_empty() || !line.chars().all(|c| c == ' '))
}

fn write_block(out: &mut String, s: &str, indent: usize) {
    let (body, chomp) = match s.strip_suffix('\n') {
        Some(body) => (body, "|"),
        None => (s, "|-"),
    };
    out.push_str(chomp);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            push_indent(out, indent);
            out.push_str(line);
        }
    }
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) => out.push(c),
            c => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
    }
    out.push('"');
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// YAML 1.1's implicit types (yaml.org/type: bool, int, float, null, timestamp, merge,
    /// value), as PyYAML and SnakeYAML resolve them: what a plain scalar must never match.
    fn yaml11_non_string() -> regex::RegexSet {
        regex::RegexSet::new([
            r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            r"^[-+]?0b[0-1_]+$",
            r"^[-+]?0[0-7_]+$",
            r"^[-+]?(?:0|[1-9][0-9_]*)$",
            r"^[-+]?0x[0-9a-fA-F_]+$",
            r"^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$",
            r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?$",
            r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$",
            r"^[-+]?\.(?:inf|Inf|INF)$",
            r"^\.(?:nan|NaN|NAN)$",
            r"^(?:~|null|Null|NULL|)$",
            r"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?$",
            r"^<<$",
            r"^=$",
        ])
        .unwrap()
    }

    /// YAML 1.2's core schema (what serde_norway and most 1.2 readers resolve).
    fn yaml12_non_string() -> regex::RegexSet {
        regex::RegexSet::new([
            r"^(?:null|Null|NULL|~|)$",
            r"^(?:true|True|TRUE|false|False|FALSE)$",
            r"^[-+]?[0-9]+$",
            r"^0o[0-7]+$",
            r"^0x[0-9a-fA-F]+$",
            r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
            r"^[-+]?\.(?:inf|Inf|INF)$",
            r"^\.(?:nan|NaN|NAN)$",
        ])
        .unwrap()
    }

    fn round_trip(value: &Value) {
        let text = to_yaml(value);
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(&back, value, "{text}");
    }

    #[test]
    fn lookalikes_are_quoted_and_read_back_as_strings() {
        let lookalikes = [
            "10:00",
            "1:30:00",
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "~",
            "null",
            "",
            "1_000",
            "0x1F",
            "0o17",
            "017",
            "0b101",
            ".5",
            "1e3",
            "1.0",
            "-1",
            "+1",
            ".inf",
            ".NaN",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "<<",
            "=",
            "True",
            "- item",
            "key: value",
            "a #b",
            "#comment",
            "[a]",
            "{a}",
            "*ref",
            "&anchor",
            "!tag",
            "|",
            ">",
            "'q'",
            "\"q\"",
            "%",
            "@",
            "`",
            " leading",
            "trailing ",
            "tab\there",
            "line\u{2028}sep",
            "nel\u{85}",
        ];
        let (yaml11, yaml12) = (yaml11_non_string(), yaml12_non_string());
        for s in lookalikes {
            assert!(!is_plain_safe(s), "{s:?} must be quoted");
            round_trip(&json!({ s: s, "list": [s] }));
        }
        // The resolvers themselves: what they must catch.
        for s in [
            "10:00",
            "yes",
            "on",
            "2001-12-14",
            "1_000",
            "0x1F",
            ".5",
            "<<",
            "~",
        ] {
            assert!(yaml11.is_match(s), "{s}");
        }
        for s in ["null", "true", "1e3", "0o17", "-1", ".inf"] {
            assert!(yaml12.is_match(s), "{s}");
        }
        assert!(!yaml11.is_match("1e3") && !yaml12.is_match("10:00"));
    }

    #[test]
    fn multi_line_text_is_exact() {
        for s in [
            "one\ntwo\n",
            "one\ntwo",
            "one\n\ntwo\n\n",
            "one\n  indented\n",
            " leading\nline",
            "spaces\n   \nline",
            "tab\tin\ntext",
            "crlf\r\nline",
            "ends\n\n\n",
            "\nstarts with a break",
        ] {
            round_trip(&json!({ "description": s, "nested": [{ "d": s }] }));
        }
    }

    #[test]
    fn structure_round_trips() {
        round_trip(&json!({
            "a": [], "b": {}, "c": [[1, 2], [], {}], "d": [{"x": 1, "y": [true, null]}],
            "200": {"k": 1.5}, "e": -3, "f": 1.0e100, "g": [{}], "h": [[{"z": "w"}]], "i": 2e-7,
        }));
    }

    /// The committed document: every value reads back the same, and no string written plain is
    /// a non-string to a YAML 1.1 or 1.2 reader.
    #[test]
    fn committed_openapi_yaml_reads_the_same_everywhere() {
        let path = crate::workspace_root().join("openapi/openapi.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let document: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(
            format!("{}{}", crate::generate::HEADER, to_yaml(&document)),
            text
        );
        let mut plain = Vec::new();
        collect_strings(&document, &mut plain);
        let (yaml11, yaml12) = (yaml11_non_string(), yaml12_non_string());
        let mut checked = 0;
        for s in plain.iter().filter(|s| is_plain_safe(s)) {
            assert!(
                !yaml11.is_match(s),
                "{s:?} is written plain but YAML 1.1 reads it as another type"
            );
            assert!(
                !yaml12.is_match(s),
                "{s:?} is written plain but YAML 1.2 reads it as another type"
            );
            checked += 1;
        }
        assert!(checked > 10_000, "only {checked} plain strings");
    }

    fn collect_strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k);
                    collect_strings(v, out);
                }
            }
            _ => {}
        }
    }
}
