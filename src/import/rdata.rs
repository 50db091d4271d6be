//! RDATA of the types gslbd serves, read from presentation tokens.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::SyntaxError;
use super::lexer::Token;
use super::name::{unescape, Name};
use super::rtype::RType;
use super::ttl;

/// The SOA fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    pub mname: Name,
    pub rname: Name,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// One record's data. Equality is DNS equality: names compare without case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    Soa(Soa),
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Name),
    Ns(Name),
    Ptr(Name),
    Mx {
        preference: u16,
        exchange: Name,
    },
    /// The character-strings of one TXT record, each at most 255 bytes.
    Txt(Vec<Vec<u8>>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: Name,
    },
    Caa {
        flags: u8,
        tag: String,
        value: String,
    },
    Ds {
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: Vec<u8>,
    },
}

/// Why RDATA was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdataError {
    Syntax(SyntaxError),
    /// Valid, but the zone JSON cannot carry it.
    Unsupported(String),
}

impl From<SyntaxError> for RdataError {
    fn from(e: SyntaxError) -> Self {
        RdataError::Syntax(e)
    }
}

/// Reads the RDATA of a record of type `rtype` from `tokens`, relative names completed
/// with `origin`. `end` is where the entry ends (for "missing field" errors).
pub fn parse(
    rtype: RType,
    tokens: &[Token],
    origin: Option<&Name>,
    end: (usize, usize),
) -> Result<Rdata, RdataError> {
    let mut f = Fields {
        tokens,
        next: 0,
        end,
        origin,
    };
    if tokens
        .first()
        .is_some_and(|t| !t.quoted && t.text == b"\\#")
    {
        return Err(RdataError::Unsupported(format!(
            "{rtype} RDATA in the generic form `\\#` (RFC 3597) is not supported; write it in its usual form"
        )));
    }
    let rdata = match rtype {
        RType::Soa => Rdata::Soa(Soa {
            mname: f.name("SOA MNAME")?,
            rname: f.name("SOA RNAME")?,
            serial: f.number("SOA serial")?,
            refresh: f.ttl("SOA refresh")?,
            retry: f.ttl("SOA retry")?,
            expire: f.ttl("SOA expire")?,
            minimum: f.ttl("SOA minimum")?,
        }),
        RType::A => {
            let t = f.next("an IPv4 address")?;
            Rdata::A(parse_text(t, "an IPv4 address")?)
        }
        RType::Aaaa => {
            let t = f.next("an IPv6 address")?;
            Rdata::Aaaa(parse_text(t, "an IPv6 address")?)
        }
        RType::Cname => Rdata::Cname(f.name("a CNAME target")?),
        RType::Ns => Rdata::Ns(f.name("an NS name")?),
        RType::Ptr => Rdata::Ptr(f.name("a PTR name")?),
        RType::Mx => Rdata::Mx {
            preference: f.number("an MX preference")?,
            exchange: f.name("an MX exchange")?,
        },
        RType::Txt => {
            let mut strings = vec![f.string("a TXT character-string")?];
            while f.next < tokens.len() {
                strings.push(f.string("a TXT character-string")?);
            }
            Rdata::Txt(strings)
        }
        RType::Srv => Rdata::Srv {
            priority: f.number("an SRV priority")?,
            weight: f.number("an SRV weight")?,
            port: f.number("an SRV port")?,
            target: f.name("an SRV target")?,
        },
        RType::Caa => {
            let flags = f.number("CAA flags")?;
            let t = f.next("a CAA tag")?;
            if t.text.is_empty()
                || t.text.len() > 255
                || !t.text.iter().all(u8::is_ascii_alphanumeric)
            {
                return Err(syntax(t, "a CAA tag is 1-255 letters or digits (RFC 8659)").into());
            }
            let tag = t.show();
            let value = f.string("a CAA value")?;
            let value = String::from_utf8(value).map_err(|_| {
                RdataError::Unsupported(
                    "a CAA value that is not UTF-8 cannot be written in JSON".into(),
                )
            })?;
            Rdata::Caa { flags, tag, value }
        }
        RType::Ds => {
            let key_tag = f.number("a DS key tag")?;
            let t = f.next("a DS algorithm")?;
            let algorithm = match algorithm(&t.text) {
                Some(a) => a,
                None => parse_text(t, "a DS algorithm (a number or a mnemonic)")?,
            };
            let digest_type: u8 = f.number("a DS digest type")?;
            let first = f.next("a DS digest")?;
            let mut hex = first.text.clone();
            while let Some(t) = tokens.get(f.next) {
                hex.extend_from_slice(&t.text);
                f.next += 1;
            }
            let digest = decode_hex(&hex)
                .ok_or_else(|| syntax(first, "a DS digest is hexadecimal digits"))?;
            if let Some(len) = digest_len(digest_type) {
                if digest.len() != len {
                    return Err(syntax(
                        first,
                        format!(
                            "a DS digest of type {digest_type} is {len} bytes, not {}",
                            digest.len()
                        ),
                    )
                    .into());
                }
            }
            Rdata::Ds {
                key_tag,
                algorithm,
                digest_type,
                digest,
            }
        }
    };
    f.finish()?;
    if let Rdata::Txt(strings) = &rdata {
        if strings.iter().any(|s| std::str::from_utf8(s).is_err()) {
            return Err(RdataError::Unsupported(
                "TXT data that is not UTF-8 cannot be written in JSON".into(),
            ));
        }
    }
    Ok(rdata)
}

struct Fields<'a> {
    tokens: &'a [Token],
    next: usize,
    end: (usize, usize),
    origin: Option<&'a Name>,
}

impl<'a> Fields<'a> {
    fn next(&mut self, what: &str) -> Result<&'a Token, SyntaxError> {
        let t = self
            .tokens
            .get(self.next)
            .ok_or_else(|| SyntaxError::new(self.end.0, self.end.1, format!("missing {what}")))?;
        self.next += 1;
        Ok(t)
    }

    fn name(&mut self, what: &str) -> Result<Name, SyntaxError> {
        let t = self.next(what)?;
        Name::parse(&t.text, self.origin).map_err(|e| syntax(t, e))
    }

    fn number<N: std::str::FromStr>(&mut self, what: &str) -> Result<N, SyntaxError> {
        let t = self.next(what)?;
        if t.quoted || !t.text.iter().all(u8::is_ascii_digit) {
            return Err(syntax(t, format!("`{}` is not {what}", t.show())));
        }
        parse_text(t, what)
    }

    fn ttl(&mut self, what: &str) -> Result<u32, SyntaxError> {
        let t = self.next(what)?;
        match ttl::parse(&t.text) {
            Some(Ok(v)) if !t.quoted => Ok(v),
            Some(Err(e)) => Err(syntax(t, e)),
            _ => Err(syntax(t, format!("`{}` is not {what}", t.show()))),
        }
    }

    fn string(&mut self, what: &str) -> Result<Vec<u8>, SyntaxError> {
        let t = self.next(what)?;
        let bytes = decode_string(t)?;
        if bytes.len() > 255 {
            return Err(syntax(
                t,
                format!(
                    "a character-string is at most 255 bytes, this one is {}",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    fn finish(&self) -> Result<(), SyntaxError> {
        match self.tokens.get(self.next) {
            None => Ok(()),
            Some(t) => Err(syntax(
                t,
                format!("unexpected `{}` after the record data", t.show()),
            )),
        }
    }
}

fn syntax(t: &Token, message: impl Into<String>) -> SyntaxError {
    SyntaxError::new(t.line, t.column, message)
}

fn parse_text<T: std::str::FromStr>(t: &Token, what: &str) -> Result<T, SyntaxError> {
    std::str::from_utf8(&t.text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| syntax(t, format!("`{}` is not {what}", t.show())))
}

/// The bytes of a character-string token: `\X` is X, `\DDD` the byte DDD.
pub fn decode_string(t: &Token) -> Result<Vec<u8>, SyntaxError> {
    let mut out = Vec::with_capacity(t.text.len());
    let mut i = 0;
    while i < t.text.len() {
        if t.text[i] == b'\\' {
            let (b, used) = unescape(&t.text[i..]).ok_or_else(|| {
                SyntaxError::new(t.line, t.column, "bad escape (`\\X` or `\\DDD` up to 255)")
            })?;
            out.push(b);
            i += used;
        } else {
            out.push(t.text[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || text.len() % 2 != 0 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    text.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// The digest length of the digest types with a fixed one (RFC 4034, 4509, 6605).
fn digest_len(digest_type: u8) -> Option<usize> {
    match digest_type {
        1 => Some(20),
        2 => Some(32),
        4 => Some(48),
        _ => None,
    }
}

/// DNSSEC algorithm mnemonics (RFC 8624 and the IANA registry).
fn algorithm(text: &[u8]) -> Option<u8> {
    let upper = String::from_utf8_lossy(text).to_ascii_uppercase();
    Some(match upper.as_str() {
        "RSAMD5" => 1,
        "DH" => 2,
        "DSA" => 3,
        "RSASHA1" => 5,
        "DSA-NSEC3-SHA1" => 6,
        "RSASHA1-NSEC3-SHA1" => 7,
        "RSASHA256" => 8,
        "RSASHA512" => 10,
        "ECC-GOST" => 12,
        "ECDSAP256SHA256" => 13,
        "ECDSAP384SHA384" => 14,
        "ED25519" => 15,
        "ED448" => 16,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "rdata_tests.rs"]
mod tests;
