//! Fleet-wide pool drains in the `gslbd_pool_drains` bucket: the key is `<record>.<pool>`,
//! each name with every character NATS keys do not take, and `.` and `=`, written as `=XX`
//! (hex); the value is JSON `{by, at_ms}`.

use std::fmt::Write;

use super::settings::Kind;
use crate::health::PoolKey;

pub const KIND: Kind<PoolKey> = Kind {
    what: "pool drain",
    key,
    parse_key,
};

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            let _ = write!(out, "={b:02X}");
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b == b'=' {
            let hex = [it.next()?, it.next()?];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

pub fn key(k: &PoolKey) -> String {
    format!("{}.{}", escape(&k.record), escape(&k.pool))
}

pub fn parse_key(s: &str) -> Option<PoolKey> {
    let (record, pool) = s.split_once('.')?;
    Some(PoolKey {
        record: unescape(record)?,
        pool: unescape(pool)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_valid_nats_keys_and_round_trip() {
        for (record, pool) in [
            ("web", "eu-west"),
            ("web_2", "default"),
            ("w.e.b", "dc=1 ü"),
            ("*", "a/b"),
        ] {
            let k = PoolKey {
                record: record.into(),
                pool: pool.into(),
            };
            let s = key(&k);
            assert_eq!(s.matches('.').count(), 1, "{s}");
            assert!(
                s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-_=.".contains(&c)),
                "{s}"
            );
            assert_eq!(parse_key(&s), Some(k));
        }
        assert_eq!(
            key(&PoolKey {
                record: "web".into(),
                pool: "eu-west".into()
            }),
            "web.eu-west"
        );
        assert_eq!(parse_key("nodot"), None);
        assert_eq!(parse_key("a.=ZZ"), None);
    }
}
