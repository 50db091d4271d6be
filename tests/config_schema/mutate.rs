//! Mutations of a valid configuration file for the schema-versus-loader property test: drop
//! a key, add an unknown one, replace a value (wrong type, out of range, malformed address,
//! prefix, code or enum value), nudge a number, empty or grow a list.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

/// Values a mutation puts somewhere: wrong types, numbers at and past the limits of the
/// fields, and strings that are malformed (or well-formed) addresses, prefixes, codes and
/// enum values.
pub fn replacement_values() -> Vec<Value> {
    let mut v = vec![
        Value::Null,
        json!(true),
        json!([]),
        json!({}),
        json!(["x"]),
        json!({ "x": 1 }),
        json!([1, 2]),
        json!(0),
        json!(1),
        json!(-1),
        json!(0.5),
        json!(-0.5),
        json!(2.0),
        json!(99),
        json!(100),
        json!(255),
        json!(256),
        json!(599),
        json!(600),
        json!(65535),
        json!(65536),
        json!(86400),
        json!(86400.5),
        json!(4294967295u64),
        json!(4294967296u64),
        json!(1e300),
        json!(-91),
        json!(181),
        json!(-90),
        json!(-180),
        json!(180.0),
        json!(13),
        json!(128),
        json!(3600),
        json!(0.001),
        json!(1.5),
    ];
    for s in [
        "",
        "x",
        "192.0.2.7",
        "300.1.1.1",
        "192.0.2",
        "2001:db8::7",
        "2001:db8::7::1",
        "fe80::1%eth0",
        "10.0.0.0/8",
        "10.0.0.1/8",
        "10.0.0.0/33",
        "10.0.0.0/08",
        "fd00::/8",
        "fd00::/129",
        "::ffff:10.0.0.0/104",
        "10.0.0.0/8/8",
        "EU",
        "eu",
        "EUR",
        "XX",
        "C",
        "US-CA",
        "US-CALI",
        "US",
        "round_robin",
        "weighted",
        "Round_Robin",
        "first",
        "serve_all",
        "nodata",
        "NODATA",
        "http",
        "https",
        "tcp",
        "udp",
        "/",
        "healthz",
        "issue",
        "is sue",
        "default",
        "ABCDEF0123",
        "xyz",
        "www",
        "www.example.com.",
        "a..b",
        "@",
        "*.cdn",
        "/",
        "/a/b?x=1",
        "0.0.0.0",
        "255.255.255.255",
        "::",
        "::1",
        "0.0.0.0/0",
        "::/0",
        "1.2.3.4/32",
        "2001:db8::/128",
        "AF",
        "oc",
        "gb-eng",
        "FR-75",
        "issuewild",
        "mailto:hostmaster@example.com",
        "sticky",
        "all",
        "Kexample.com.+013+12345",
    ] {
        v.push(json!(s));
    }
    v.push(json!("a".repeat(256)));
    v
}

/// Unknown keys, near misses of real ones.
const UNKNOWN_KEYS: [&str; 8] = [
    "bogus", "Version", "ttl ", "$schema", "record", "Targets", "weights", "cidr",
];

#[derive(Debug, Clone)]
pub enum Mutation {
    /// Remove a key of an object (a required one, or an optional one).
    DropKey(Index),
    /// Add an unknown key.
    AddKey(Index, Index),
    /// Replace the value with another: of the same JSON type (when `same` and there is
    /// one), or any.
    Replace(Index, bool),
    /// Change a number: add `delta` or scale it.
    Nudge(i64, bool),
    /// Empty an array or object.
    Empty,
    /// Repeat an item of an array.
    Repeat(Index),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::DropKey),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(k, v)| Mutation::AddKey(k, v)),
        4 => (any::<Index>(), any::<bool>()).prop_map(|(i, same)| Mutation::Replace(i, same)),
        1 => (-2i64..=2, any::<bool>()).prop_map(|(d, s)| Mutation::Nudge(d, s)),
        1 => Just(Mutation::Empty),
        1 => any::<Index>().prop_map(Mutation::Repeat),
    ]
}

/// JSON pointers of every value in `v`, grouped by where they are in the file's shape:
/// array indices and the names of records, checks, GSLB records, pools and regions do not
/// count, so that one mutation is as likely to hit `checks.*.port` as one of the hundreds of
/// `records.*.A[*]`.
pub fn pointer_groups(v: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, at: String, shape: String, out: &mut BTreeMap<String, Vec<String>>) {
        let is_map = ["records", "checks", "gslb", "pools", "regions", "ttls"]
            .iter()
            .any(|m| shape.ends_with(&format!("/{m}")));
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let key = k.replace('~', "~0").replace('/', "~1");
                    let seg = if is_map { "*" } else { key.as_str() };
                    walk(child, format!("{at}/{key}"), format!("{shape}/{seg}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{i}"), format!("{shape}/#"), out);
                }
            }
            _ => {}
        }
        out.entry(shape).or_default().push(at);
    }
    let mut groups = BTreeMap::new();
    walk(v, String::new(), String::new(), &mut groups);
    groups.into_values().collect()
}

/// Applies `m` at `target` of `doc`; a mutation that does not fit the value there replaces
/// it instead.
pub fn apply(doc: &mut Value, target: &str, m: &Mutation, values: &[Value]) {
    let node = doc.pointer_mut(target).expect("pointer from pointers()");
    match (m, &mut *node) {
        (Mutation::DropKey(i), Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(i.index(map.len())).unwrap().clone();
            map.remove(&key);
        }
        (Mutation::AddKey(k, v), Value::Object(map)) => {
            let key = UNKNOWN_KEYS[k.index(UNKNOWN_KEYS.len())];
            map.insert(key.to_string(), v.get(values).clone());
        }
        (Mutation::Nudge(delta, scale), Value::Number(n)) => {
            *node = match (n.as_i64(), n.as_f64()) {
                (Some(i), _) if *scale => json!(i.saturating_mul(1000).saturating_add(*delta)),
                (Some(i), _) => json!(i.saturating_add(*delta)),
                (None, Some(f)) => json!(f * if *scale { -1.0 } else { 100.0 } + *delta as f64),
                _ => Value::Null,
            };
        }
        (Mutation::Empty, Value::Array(items)) => items.clear(),
        (Mutation::Empty, Value::Object(map)) => map.clear(),
        (Mutation::Repeat(i), Value::Array(items)) if !items.is_empty() => {
            let item = items[i.index(items.len())].clone();
            items.push(item);
        }
        (Mutation::Replace(i, true), _) => {
            let same: Vec<&Value> = values.iter().filter(|v| same_type(v, node)).collect();
            *node = if same.is_empty() {
                i.get(values).clone()
            } else {
                (*i.get(&same)).clone()
            };
        }
        (Mutation::Replace(i, false), _)
        | (Mutation::DropKey(i), _)
        | (Mutation::AddKey(_, i), _)
        | (Mutation::Repeat(i), _) => *node = i.get(values).clone(),
        (Mutation::Nudge(..), _) | (Mutation::Empty, _) => *node = json!("x"),
    }
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}
