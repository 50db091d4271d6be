//! Domain names in presentation form: `\.` and `\DDD` escapes, `@`, relative names.

use std::cmp::Ordering;
use std::fmt;

/// A fully qualified domain name as a list of labels (case kept as written; comparisons
/// ignore ASCII case, as DNS does).
#[derive(Clone, Debug, Default)]
pub struct Name {
    labels: Vec<Vec<u8>>,
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Self {
        Name::default()
    }

    pub fn labels(&self) -> &[Vec<u8>] {
        &self.labels
    }

    /// Parses presentation text: `@` is `origin`, a name without a final (unescaped) dot is
    /// completed with `origin`. `None` as origin makes relative names an error.
    pub fn parse(text: &[u8], origin: Option<&Name>) -> Result<Name, String> {
        let show = String::from_utf8_lossy(text);
        if text == b"@" {
            return origin
                .cloned()
                .ok_or_else(|| "`@` needs an origin ($ORIGIN or --origin)".into());
        }
        if text.is_empty() {
            return Err("empty name".into());
        }
        if text == b"." {
            return Ok(Name::root());
        }
        let mut labels = Vec::new();
        let mut label = Vec::new();
        let mut absolute = false;
        let mut i = 0;
        while i < text.len() {
            match text[i] {
                b'.' => {
                    if label.is_empty() {
                        return Err(format!("bad name `{show}`: empty label"));
                    }
                    labels.push(std::mem::take(&mut label));
                    absolute = i + 1 == text.len();
                    i += 1;
                }
                b'\\' => {
                    let (byte, used) = unescape(&text[i..])
                        .ok_or_else(|| format!("bad name `{show}`: bad escape"))?;
                    label.push(byte);
                    i += used;
                }
                b => {
                    label.push(b);
                    i += 1;
                }
            }
            if label.len() > 63 {
                return Err(format!("bad name `{show}`: label longer than 63 bytes"));
            }
        }
        if !label.is_empty() {
            labels.push(label);
        }
        if !absolute {
            match origin {
                Some(o) => labels.extend(o.labels.iter().cloned()),
                None => {
                    return Err(format!(
                        "name `{show}` is relative and there is no origin ($ORIGIN or --origin)"
                    ))
                }
            }
        }
        let name = Name { labels };
        if name.wire_len() > 255 {
            return Err(format!("name `{show}` is longer than 255 bytes"));
        }
        Ok(name)
    }

    fn wire_len(&self) -> usize {
        self.labels.iter().map(|l| l.len() + 1).sum::<usize>() + 1
    }

    /// True when `self` equals `ancestor` or lies below it.
    pub fn is_at_or_below(&self, ancestor: &Name) -> bool {
        self.labels.len() >= ancestor.labels.len()
            && self.labels[self.labels.len() - ancestor.labels.len()..]
                .iter()
                .zip(&ancestor.labels)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// True when `self` lies strictly below `ancestor`.
    pub fn is_below(&self, ancestor: &Name) -> bool {
        self.labels.len() > ancestor.labels.len() && self.is_at_or_below(ancestor)
    }

    /// The key of this name in the zone JSON: relative to `origin`, `@` for the origin.
    /// The caller makes sure `self` is at or below `origin`.
    pub fn relative_to(&self, origin: &Name) -> String {
        let n = self.labels.len() - origin.labels.len();
        if n == 0 {
            return "@".into();
        }
        let mut out = String::new();
        for (i, l) in self.labels[..n].iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            push_label(&mut out, l);
        }
        out
    }

    /// The same name in lowercase (the key RRsets are grouped by).
    pub fn lowercase(&self) -> Name {
        Name {
            labels: self.labels.iter().map(|l| l.to_ascii_lowercase()).collect(),
        }
    }

    /// DNS canonical order (RFC 4034 §6.1): label by label from the root, each compared
    /// as lowercase bytes; a parent sorts before its children.
    pub fn canonical_cmp(&self, other: &Name) -> Ordering {
        let a = self.labels.iter().rev().map(|l| l.to_ascii_lowercase());
        let b = other.labels.iter().rev().map(|l| l.to_ascii_lowercase());
        a.cmp(b)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.labels.len() == other.labels.len() && self.is_at_or_below(other)
    }
}

impl Eq for Name {}

/// Presentation form with the trailing dot; `.`, `\` and bytes outside printable ASCII
/// are escaped (as gslbd's own zone loader reads them).
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.labels.is_empty() {
            return f.write_str(".");
        }
        let mut out = String::new();
        for l in &self.labels {
            push_label(&mut out, l);
            out.push('.');
        }
        f.write_str(&out)
    }
}

fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x21..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
}

/// Decodes one escape at the start of `text` (which starts with `\`): `\DDD` (a decimal
/// byte value) or `\X`. Returns the byte and how many input bytes it used.
pub fn unescape(text: &[u8]) -> Option<(u8, usize)> {
    let rest = text.get(1..)?;
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        u8::try_from(v).ok().map(|b| (b, 4))
    } else {
        Some((first, 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s.as_bytes(), None).unwrap()
    }

    #[test]
    fn relative_absolute_at_and_escapes() {
        let origin = n("Example.COM.");
        assert_eq!(origin.to_string(), "Example.COM.");
        let www = Name::parse(b"www", Some(&origin)).unwrap();
        assert_eq!(www.to_string(), "www.Example.COM.");
        assert_eq!(www, n("WWW.example.com."));
        assert_eq!(Name::parse(b"@", Some(&origin)).unwrap(), origin);
        let dotted = Name::parse(br"a\.b.c", Some(&origin)).unwrap();
        assert_eq!(dotted.labels().len(), 4);
        assert_eq!(dotted.labels()[0], b"a.b");
        assert_eq!(dotted.relative_to(&origin), r"a\.b.c");
        let ddd = Name::parse(br"x\065\032y.", None).unwrap();
        assert_eq!(ddd.labels()[0], b"xA y");
        assert_eq!(ddd.to_string(), r"xA\032y.");
        assert_eq!(
            Name::parse(b"*.cdn", Some(&origin))
                .unwrap()
                .relative_to(&origin),
            "*.cdn"
        );
        assert_eq!(n(".").to_string(), ".");
    }

    #[test]
    fn rejects_bad_names() {
        assert!(Name::parse(b"a..b.", None).is_err());
        assert!(Name::parse(b"relative", None).is_err());
        assert!(Name::parse(b"@", None).is_err());
        assert!(Name::parse(br"a\256.", None).is_err());
        assert!(Name::parse(br"a\12.", None).is_err());
        assert!(Name::parse(format!("{}.", "a".repeat(64)).as_bytes(), None).is_err());
        let long = format!("{}.", ["abcdefghij"; 26].join("."));
        assert!(Name::parse(long.as_bytes(), None).is_err());
    }

    #[test]
    fn ancestry_and_canonical_order() {
        let origin = n("example.com.");
        assert!(n("a.b.EXAMPLE.com.").is_below(&origin));
        assert!(!origin.is_below(&origin));
        assert!(origin.is_at_or_below(&origin));
        assert!(!n("badexample.com.").is_at_or_below(&origin));
        let mut names = [
            n("z.example.com."),
            n("a.b.example.com."),
            n("B.example.com."),
            n("example.com."),
            n("*.example.com."),
        ];
        names.sort_by(|a, b| a.canonical_cmp(b));
        let shown: Vec<String> = names.iter().map(|n| n.relative_to(&origin)).collect();
        assert_eq!(shown, ["@", "*", "B", "a.b", "z"]);
    }
}
