//! Unit tests of grouping records into a zone: RRsets, TTL choices, what may be where.

use super::*;
use crate::import::parser;

const HEAD: &str = "$TTL 3600\n@ SOA ns1 host 1 2 3 4 5\n NS ns1\nns1 A 192.0.2.53\n";

fn build_text(body: &str) -> (Option<Zone>, Findings) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("example.com.zone");
    std::fs::write(&p, format!("{HEAD}{body}")).unwrap();
    let mut f = Findings::default();
    let origin = Name::parse(b"example.com.", None).unwrap();
    let records = parser::read(&p, Some(origin), &mut f).unwrap();
    (build(&p, records, &mut f), f)
}

fn node<'a>(z: &'a Zone, key: &str) -> &'a Node {
    z.nodes
        .iter()
        .find(|n| n.key == key)
        .unwrap_or_else(|| panic!("no {key}"))
}

/// (line, message) of each problem, by line.
fn lines(ps: &[Problem]) -> Vec<(usize, String)> {
    let mut v: Vec<(usize, String)> = ps
        .iter()
        .map(|p| match p.position {
            Position::Line(l) => (l, p.message.clone()),
            _ => (0, p.message.clone()),
        })
        .collect();
    v.sort();
    v
}

#[test]
fn rrset_ttl_is_the_minimum_with_a_warning_and_duplicates_go() {
    let (z, f) = build_text(
        "www 300 A 192.0.2.1\n\
         www 600 A 192.0.2.2\n\
         www 300 A 192.0.2.1\n\
         WWW 300 A 192.0.2.1\n",
    );
    let z = z.unwrap();
    let www = node(&z, "www");
    let (a, over) = &www.sets[0];
    assert_eq!(a.records.len(), 2, "the duplicates are dropped");
    assert_eq!(a.ttl, 300);
    assert_eq!(*over, None);
    assert_eq!(www.ttl, Some(300));
    let w = lines(&f.warnings);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].0, 6);
    assert!(w[0].1.contains("RFC 2181 §5.2"), "{w:?}");
}

#[test]
fn name_ttl_is_the_most_common_and_exceptions_go_to_ttls() {
    let (z, f) = build_text(
        "m 600 A 192.0.2.1\n\
         m 600 AAAA ::1\n\
         m 300 MX 10 m\n\
         same 3600 A 192.0.2.2\n\
         same 60 TXT x\n\
         tie 60 A 192.0.2.3\n\
         tie 30 TXT y\n",
    );
    assert!(f.errors.is_empty() && f.warnings.is_empty(), "{f:?}");
    let z = z.unwrap();
    let m = node(&z, "m");
    assert_eq!(m.ttl, Some(600));
    let over: Vec<(RType, Option<u32>)> = m.sets.iter().map(|(s, o)| (s.rtype, *o)).collect();
    assert_eq!(
        over,
        [
            (RType::A, None),
            (RType::Aaaa, None),
            (RType::Mx, Some(300))
        ]
    );
    // A tie prefers the zone TTL (nothing to write), then the smaller one.
    assert_eq!(node(&z, "same").ttl, None);
    assert_eq!(node(&z, "same").sets[1].1, Some(60));
    assert_eq!(node(&z, "tie").ttl, Some(30));
    assert_eq!(node(&z, "tie").sets[0].1, Some(60));
    // The apex's SOA follows the zone TTL and does not count for the name.
    assert_eq!(z.ttl, 3600);
    assert_eq!(node(&z, "@").ttl, None);
}

#[test]
fn apex_first_then_canonical_order() {
    let (z, _) = build_text("b A 192.0.2.1\n*.cdn A 192.0.2.2\na.b A 192.0.2.3\nZ A 192.0.2.4\n");
    let keys: Vec<&str> = z
        .as_ref()
        .unwrap()
        .nodes
        .iter()
        .map(|n| n.key.as_str())
        .collect();
    assert_eq!(keys, ["@", "b", "a.b", "*.cdn", "ns1", "z"]);
}

#[test]
fn cname_with_other_data_and_at_the_apex_are_errors() {
    let (_, f) = build_text(
        "c CNAME www\n\
         c A 192.0.2.1\n\
         d CNAME x\n\
         d CNAME y\n\
         @ CNAME elsewhere.net.\n",
    );
    let e = lines(&f.errors);
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!(e[0].0, 5);
    assert!(
        e[0].1.contains("a CNAME and other data: A (line 6)"),
        "{e:?}"
    );
    assert_eq!(e[1].0, 7);
    assert!(e[1].1.contains("2 CNAME records"), "{e:?}");
    assert_eq!(e[2].0, 9);
    assert!(e[2].1.contains("apex cannot be a CNAME"), "{e:?}");
}

#[test]
fn delegations_keep_ns_ds_and_glue_and_refuse_the_rest() {
    let (z, f) = build_text(
        "sub NS ns1.sub\n\
         sub NS ns.elsewhere.net.\n\
         sub DS 1 13 2 0000000000000000000000000000000000000000000000000000000000000000\n\
         ns1.sub A 192.0.2.9\n\
         sub A 192.0.2.10\n\
         deep.sub TXT hidden\n\
         notcut DS 1 13 2 0000000000000000000000000000000000000000000000000000000000000000\n\
         @ DS 1 13 2 0000000000000000000000000000000000000000000000000000000000000000\n\
         nog NS ns.nog\n",
    );
    let z = z.unwrap();
    let sub: Vec<RType> = node(&z, "sub").sets.iter().map(|(s, _)| s.rtype).collect();
    assert_eq!(sub, [RType::Ns, RType::Ds]);
    assert_eq!(node(&z, "ns1.sub").sets[0].0.rtype, RType::A);
    let u = lines(&f.unsupported);
    let at: Vec<usize> = u.iter().map(|(l, _)| *l).collect();
    assert_eq!(at, [9, 10, 11, 12], "{u:?}");
    assert!(u[0].1.contains("hidden by the zone cut"), "{u:?}");
    assert!(u[1].1.contains("below the delegation"), "{u:?}");
    assert!(u[2].1.contains("no delegation"), "{u:?}");
    assert!(u[3].1.contains("apex belong in the parent"), "{u:?}");
    let e = lines(&f.errors);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, 13);
    assert!(e[0].1.contains("no A or AAAA glue"), "{e:?}");
}

#[test]
fn zone_problems_no_soa_second_soa_no_apex_ns_outside_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("z");
    std::fs::write(&p, "a.example.com. 60 A 192.0.2.1\n").unwrap();
    let mut f = Findings::default();
    let records = parser::read(&p, None, &mut f).unwrap();
    assert!(build(&p, records, &mut f).is_none());
    assert!(f.errors[0].message.starts_with("no SOA record"));

    std::fs::write(
        &p,
        "example.com. 60 SOA ns1.example.com. h.example.com. 1 2 3 4 5\n\
         example.com. 60 SOA ns1.example.com. h.example.com. 2 2 3 4 5\n\
         www.example.org. 60 A 192.0.2.1\n",
    )
    .unwrap();
    let mut f = Findings::default();
    let records = parser::read(&p, None, &mut f).unwrap();
    let z = build(&p, records, &mut f).unwrap();
    assert_eq!(z.origin.to_string(), "example.com.");
    let e = lines(&f.errors);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].0, 1);
    assert!(
        e[0].1
            .contains("the zone apex `example.com.` has no NS records"),
        "{e:?}"
    );
    assert_eq!(e[1].0, 2);
    assert!(e[1].1.contains("a second SOA"), "{e:?}");
    let u = lines(&f.unsupported);
    assert_eq!(u[0].0, 3);
    assert!(u[0].1.contains("outside the zone `example.com.`"), "{u:?}");
}
