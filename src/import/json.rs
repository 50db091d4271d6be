//! Writes an imported zone as gslbd zone JSON: pretty-printed, stable (the same zone gives
//! the same bytes), the apex first and then names in DNS canonical order.

use std::fmt::Write;

use super::rdata::Rdata;
use super::rtype::RType;
use super::zone::{Node, Zone};

/// Lines longer than this put each list item on its own line.
const WIDTH: usize = 100;

/// The zone as JSON text, ending with a newline.
pub fn write(zone: &Zone) -> String {
    let mut out = String::new();
    let s = &zone.soa;
    out.push_str("{\n  \"version\": 1,\n");
    let _ = writeln!(out, "  \"origin\": {},", string(&zone.origin.to_string()));
    let _ = writeln!(out, "  \"ttl\": {},", zone.ttl);
    out.push_str("  \"soa\": {\n");
    let _ = writeln!(out, "    \"mname\": {},", string(&s.mname.to_string()));
    let _ = writeln!(out, "    \"rname\": {},", string(&s.rname.to_string()));
    let _ = writeln!(out, "    \"serial\": {},", s.serial);
    let _ = writeln!(out, "    \"refresh\": {},", s.refresh);
    let _ = writeln!(out, "    \"retry\": {},", s.retry);
    let _ = writeln!(out, "    \"expire\": {},", s.expire);
    let _ = writeln!(out, "    \"minimum\": {}", s.minimum);
    out.push_str("  },\n  \"records\": {");
    for (i, node) in zone.nodes.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        write_node(&mut out, node);
    }
    out.push_str(if zone.nodes.is_empty() {
        "}\n}\n"
    } else {
        "\n  }\n}\n"
    });
    out
}

fn write_node(out: &mut String, node: &Node) {
    let mut fields: Vec<String> = Vec::new();
    if let Some(ttl) = node.ttl {
        fields.push(format!("\"ttl\": {ttl}"));
    }
    let overrides: Vec<String> = node
        .sets
        .iter()
        .filter_map(|(s, o)| o.map(|t| format!("\"{}\": {t}", s.rtype)))
        .collect();
    if !overrides.is_empty() {
        fields.push(format!("\"ttls\": {{ {} }}", overrides.join(", ")));
    }
    for (set, _) in &node.sets {
        let key = format!("\"{}\": ", set.rtype);
        if set.rtype == RType::Cname {
            fields.push(format!("{key}{}", item(&set.records[0])));
            continue;
        }
        let items: Vec<String> = set.records.iter().map(item).collect();
        fields.push(format!("{key}{}", list(&key, &items)));
    }
    let _ = write!(out, "    {}: {{\n      ", string(&node.key));
    out.push_str(&fields.join(",\n      "));
    out.push_str("\n    }");
}

/// `[a, b]` on one line when it fits, else one item per line.
fn list(key: &str, items: &[String]) -> String {
    let inline = format!("[{}]", items.join(", "));
    let objects = items.iter().any(|i| i.starts_with('{'));
    if !objects && 6 + key.len() + inline.len() <= WIDTH {
        return inline;
    }
    format!("[\n        {}\n      ]", items.join(",\n        "))
}

/// One record as a JSON value.
fn item(r: &Rdata) -> String {
    match r {
        Rdata::A(a) => string(&a.to_string()),
        Rdata::Aaaa(a) => string(&a.to_string()),
        Rdata::Cname(n) | Rdata::Ns(n) | Rdata::Ptr(n) => string(&n.to_string()),
        Rdata::Mx {
            preference,
            exchange,
        } => format!(
            "{{ \"preference\": {preference}, \"exchange\": {} }}",
            string(&exchange.to_string())
        ),
        Rdata::Srv {
            priority,
            weight,
            port,
            target,
        } => format!(
            "{{ \"priority\": {priority}, \"weight\": {weight}, \"port\": {port}, \"target\": {} }}",
            string(&target.to_string())
        ),
        Rdata::Caa { flags, tag, value } => format!(
            "{{ \"flags\": {flags}, \"tag\": {}, \"value\": {} }}",
            string(tag),
            string(value)
        ),
        Rdata::Ds {
            key_tag,
            algorithm,
            digest_type,
            digest,
        } => {
            let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
            format!(
                "{{ \"key_tag\": {key_tag}, \"algorithm\": {algorithm}, \"digest_type\": {digest_type}, \"digest\": \"{hex}\" }}"
            )
        }
        Rdata::Txt(strings) => txt(strings),
        Rdata::Soa(_) => unreachable!("the SOA is written as `soa`"),
    }
}

/// A TXT record: a plain string when it is one character-string (the server splits only
/// strings longer than 255 bytes, which one character-string never is), else the array of
/// its character-strings.
fn txt(strings: &[Vec<u8>]) -> String {
    let text = |b: &Vec<u8>| string(std::str::from_utf8(b).expect("checked UTF-8 when read"));
    match strings {
        [one] => text(one),
        many => format!("[{}]", many.iter().map(text).collect::<Vec<_>>().join(", ")),
    }
}

fn string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}
