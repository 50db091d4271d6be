//! Record types: the ones gslbd serves, and the names of the others.

use std::fmt;

/// A record type gslbd's zone JSON can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RType {
    Soa,
    Cname,
    Ns,
    Ds,
    A,
    Aaaa,
    Mx,
    Txt,
    Srv,
    Caa,
    Ptr,
}

impl RType {
    /// Every type, in the order the JSON lists them at a name.
    pub const ALL: [RType; 11] = [
        RType::Soa,
        RType::Cname,
        RType::Ns,
        RType::Ds,
        RType::A,
        RType::Aaaa,
        RType::Mx,
        RType::Txt,
        RType::Srv,
        RType::Caa,
        RType::Ptr,
    ];

    pub fn mnemonic(self) -> &'static str {
        match self {
            RType::Soa => "SOA",
            RType::Cname => "CNAME",
            RType::Ns => "NS",
            RType::Ds => "DS",
            RType::A => "A",
            RType::Aaaa => "AAAA",
            RType::Mx => "MX",
            RType::Txt => "TXT",
            RType::Srv => "SRV",
            RType::Caa => "CAA",
            RType::Ptr => "PTR",
        }
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// What a type field says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeField {
    Supported(RType),
    /// A type that exists but gslbd does not serve (its mnemonic, upper case).
    Other(String),
}

/// Types other than the supported ones that master files contain (IANA registry, the
/// ones in use). `TYPEnnn` (RFC 3597) is recognised separately.
const OTHER: &[&str] = &[
    "AFSDB",
    "APL",
    "CDNSKEY",
    "CDS",
    "CERT",
    "CSYNC",
    "DHCID",
    "DLV",
    "DNAME",
    "DNSKEY",
    "DSYNC",
    "EUI48",
    "EUI64",
    "GPOS",
    "HINFO",
    "HIP",
    "HTTPS",
    "IPSECKEY",
    "ISDN",
    "KEY",
    "KX",
    "L32",
    "L64",
    "LOC",
    "LP",
    "MB",
    "MD",
    "MF",
    "MG",
    "MINFO",
    "MR",
    "NAPTR",
    "NID",
    "NINFO",
    "NSAP",
    "NSAP-PTR",
    "NSEC",
    "NSEC3",
    "NSEC3PARAM",
    "NULL",
    "NXT",
    "OPENPGPKEY",
    "PX",
    "RESINFO",
    "RKEY",
    "RP",
    "RRSIG",
    "RT",
    "SIG",
    "SMIMEA",
    "SPF",
    "SSHFP",
    "SVCB",
    "TA",
    "TALINK",
    "TLSA",
    "URI",
    "WALLET",
    "WKS",
    "X25",
    "ZONEMD",
];

/// Reads a type field; `None` when the token is no type at all.
pub fn parse(text: &[u8]) -> Option<TypeField> {
    let upper = String::from_utf8_lossy(text).to_ascii_uppercase();
    if let Some(t) = RType::ALL.iter().find(|t| t.mnemonic() == upper) {
        return Some(TypeField::Supported(*t));
    }
    if OTHER.contains(&upper.as_str()) {
        return Some(TypeField::Other(upper));
    }
    let n = upper.strip_prefix("TYPE")?;
    if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u16>().is_ok() {
        return Some(TypeField::Other(upper));
    }
    None
}

/// Classes: `IN` is the only one gslbd serves. Returns the class name (upper case) when
/// the token is a class.
pub fn parse_class(text: &[u8]) -> Option<String> {
    let upper = String::from_utf8_lossy(text).to_ascii_uppercase();
    if matches!(upper.as_str(), "IN" | "CH" | "CS" | "HS" | "NONE" | "ANY") {
        return Some(upper);
    }
    let n = upper.strip_prefix("CLASS")?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u16>().is_ok())
        .then_some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_classes() {
        assert_eq!(parse(b"aaaa"), Some(TypeField::Supported(RType::Aaaa)));
        assert_eq!(parse(b"Ds"), Some(TypeField::Supported(RType::Ds)));
        assert_eq!(parse(b"hinfo"), Some(TypeField::Other("HINFO".into())));
        assert_eq!(
            parse(b"TYPE65534"),
            Some(TypeField::Other("TYPE65534".into()))
        );
        assert_eq!(parse(b"TYPE70000"), None);
        assert_eq!(parse(b"FOO"), None);
        assert_eq!(parse(b"3600"), None);
        assert_eq!(parse_class(b"in").as_deref(), Some("IN"));
        assert_eq!(parse_class(b"CH").as_deref(), Some("CH"));
        assert_eq!(parse_class(b"CLASS3").as_deref(), Some("CLASS3"));
        assert_eq!(parse_class(b"A"), None);
    }
}
