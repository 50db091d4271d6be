//! TTL fields: seconds, or BIND's units (`1h30m`, `2d`, `1W`).

/// The largest TTL RFC 2181 §8 allows (2^31 - 1).
pub const MAX_TTL: u32 = 0x7fff_ffff;

/// Parses a TTL: plain seconds (`3600`) or number-unit blocks with the units `s`, `m`,
/// `h`, `d`, `w` in either case (`1h30m`, `2D`, `1w`), as BIND, NSD and Knot read them.
/// `None` when the text is not a TTL; `Some(Err)` when it is one but out of range.
pub fn parse(text: &[u8]) -> Option<Result<u32, String>> {
    if text.is_empty() || !text[0].is_ascii_digit() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    let mut any_unit = false;
    for &b in text {
        if b.is_ascii_digit() {
            let n = number.unwrap_or(0) * 10 + u64::from(b - b'0');
            if n > u64::from(u32::MAX) {
                return Some(Err(out_of_range(text)));
            }
            number = Some(n);
            continue;
        }
        let unit = match b.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return None,
        };
        total += number.take()? * unit;
        any_unit = true;
    }
    if let Some(n) = number {
        if any_unit {
            // `1h30`: a number without its unit after a unit.
            return None;
        }
        total = n;
    }
    if total > u64::from(MAX_TTL) {
        return Some(Err(out_of_range(text)));
    }
    Some(Ok(total as u32))
}

fn out_of_range(text: &[u8]) -> String {
    format!(
        "TTL `{}` is larger than {MAX_TTL} seconds (RFC 2181 §8)",
        String::from_utf8_lossy(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> u32 {
        parse(s.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn seconds_and_units() {
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("3600"), 3600);
        assert_eq!(ok("1h30m"), 5400);
        assert_eq!(ok("2d"), 172_800);
        assert_eq!(ok("1W"), 604_800);
        assert_eq!(
            ok("1w2d3h4m5s"),
            604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5
        );
        assert_eq!(ok("90S"), 90);
    }

    #[test]
    fn not_a_ttl_or_out_of_range() {
        for s in ["", "IN", "A", "h1", "1x", "1h30", "1.5h", "-1"] {
            assert!(parse(s.as_bytes()).is_none(), "{s}");
        }
        assert!(parse(b"2147483648").unwrap().is_err());
        assert!(parse(b"99999999999").unwrap().is_err());
        assert!(parse(b"3551w").unwrap().is_err());
        assert_eq!(ok("3550w"), 3550 * 604_800);
        assert_eq!(ok("2147483647"), MAX_TTL);
    }
}
