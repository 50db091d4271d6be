//! Domain names as gslbd stores them: lowercase, uncompressed wire format.

use std::fmt;

use hickory_proto::rr::Name;

/// A fully qualified domain name in lowercase wire format (length-prefixed labels, ending
/// with the root label). This is the key of every name lookup on the query path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireName(Box<[u8]>);

impl WireName {
    /// Parses presentation text (`www`, `@`, `www.example.com.`) relative to `origin`.
    /// Relative names are completed with the origin; `@` is the origin itself.
    pub fn parse(text: &str, origin: Option<&WireName>) -> Result<WireName, String> {
        if text == "@" {
            return origin
                .cloned()
                .ok_or_else(|| "`@` needs an origin".to_string());
        }
        if text.is_empty() {
            return Err("empty name".into());
        }
        if text.chars().any(|c| c.is_whitespace()) {
            return Err(format!("name `{text}` contains white space"));
        }
        let name = Name::from_ascii(text).map_err(|e| format!("bad name `{text}`: {e}"))?;
        let mut wire = Vec::with_capacity(text.len() + 2);
        for label in name.iter() {
            if label.is_empty() {
                return Err(format!("bad name `{text}`: empty label"));
            }
            wire.push(label.len() as u8);
            wire.extend(label.iter().map(u8::to_ascii_lowercase));
        }
        if !name.is_fqdn() {
            match origin {
                Some(o) => wire.extend_from_slice(o.as_bytes()),
                None => return Err(format!("name `{text}` must end with a dot")),
            }
        } else {
            wire.push(0);
        }
        if wire.len() > 255 {
            return Err(format!("name `{text}` is longer than 255 bytes"));
        }
        Ok(WireName(wire.into_boxed_slice()))
    }

    /// Wraps wire bytes that are already lowercase and well formed.
    pub fn from_wire(bytes: &[u8]) -> Self {
        WireName(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True when `self` equals `ancestor` or lies below it.
    pub fn is_at_or_below(&self, ancestor: &WireName) -> bool {
        suffix_offset(self.as_bytes(), ancestor.as_bytes()).is_some()
    }

    /// The names strictly between `self` and `ancestor` (exclusive of both), nearest first.
    pub fn ancestors_below(&self, ancestor: &WireName) -> Vec<WireName> {
        let mut out = Vec::new();
        let bytes = self.as_bytes();
        let stop = bytes.len() - ancestor.as_bytes().len();
        let mut pos = bytes[0] as usize + 1;
        while pos < stop {
            out.push(WireName::from_wire(&bytes[pos..]));
            pos += bytes[pos] as usize + 1;
        }
        out
    }
}

/// Offsets of each label start in a wire name, excluding the root label.
pub fn label_offsets(wire: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let len = *wire.get(pos)? as usize;
        if len == 0 {
            return None;
        }
        let here = pos;
        pos += len + 1;
        Some(here)
    })
}

/// If `suffix` is a label-aligned suffix of `name` (both wire format, same case), the offset
/// in `name` at which it starts.
pub fn suffix_offset(name: &[u8], suffix: &[u8]) -> Option<usize> {
    if suffix.len() > name.len() {
        return None;
    }
    let start = name.len() - suffix.len();
    if name[start..] != *suffix {
        return None;
    }
    if start == 0 {
        return Some(0);
    }
    label_offsets(name).find(|&o| o == start)
}

impl std::borrow::Borrow<[u8]> for WireName {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.as_bytes();
        if bytes == [0] {
            return f.write_str(".");
        }
        for off in label_offsets(bytes) {
            let len = bytes[off] as usize;
            for &b in &bytes[off + 1..off + 1 + len] {
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", b as char)?,
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{:03}", b)?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WireName({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> WireName {
        WireName::parse(s, None).unwrap()
    }

    #[test]
    fn parses_relative_absolute_and_apex() {
        let origin = n("Example.COM.");
        assert_eq!(origin.as_bytes(), b"\x07example\x03com\x00");
        assert_eq!(WireName::parse("@", Some(&origin)).unwrap(), origin);
        assert_eq!(
            WireName::parse("WWW", Some(&origin)).unwrap(),
            n("www.example.com.")
        );
        assert_eq!(
            WireName::parse("_sip._udp", Some(&origin))
                .unwrap()
                .to_string(),
            "_sip._udp.example.com."
        );
    }

    #[test]
    fn rejects_bad_names() {
        assert!(WireName::parse("a..b.", None).is_err());
        assert!(WireName::parse(&format!("{}.", "a".repeat(64)), None).is_err());
        assert!(WireName::parse("has space.", None).is_err());
        assert!(WireName::parse("relative", None).is_err());
        let long = format!("{}.", ["abcdefghij"; 26].join("."));
        assert!(WireName::parse(&long, None).is_err());
    }

    #[test]
    fn ancestry() {
        let origin = n("example.com.");
        let deep = n("_tcp._sip.x.example.com.");
        assert!(deep.is_at_or_below(&origin));
        assert!(!n("example.org.").is_at_or_below(&origin));
        assert!(!n("badexample.com.").is_at_or_below(&origin));
        let names: Vec<String> = deep
            .ancestors_below(&origin)
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["_sip.x.example.com.", "x.example.com."]);
    }
}
