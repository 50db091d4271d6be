//! Unit tests of the master file reader: directives, owners, TTLs, classes.

use super::*;

/// Writes `files` (name, text) into a temporary directory and reads the first one with the
/// origin `example.com.`.
fn read_files(files: &[(&str, &str)]) -> (Vec<Record>, Findings, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let origin = Name::parse(b"example.com.", None).unwrap();
    let mut findings = Findings::default();
    let records = read(&dir.path().join(files[0].0), Some(origin), &mut findings).unwrap();
    (records, findings, dir)
}

fn read_one(text: &str) -> (Vec<Record>, Findings) {
    let (r, f, _dir) = read_files(&[("z", text)]);
    (r, f)
}

/// `owner ttl type` of each record, for compact assertions.
fn summary(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{} {} {}", r.owner, r.ttl, r.rtype()))
        .collect()
}

fn messages(ps: &[Problem]) -> Vec<String> {
    ps.iter()
        .map(|p| {
            let pos = match p.position {
                Position::LineColumn(l, c) => format!("{l}:{c}"),
                Position::Line(l) => format!("{l}"),
                _ => "-".into(),
            };
            format!("{pos} {}", p.message)
        })
        .collect()
}

#[test]
fn origin_and_ttl_change_mid_file_and_owner_carries_over() {
    let (r, f) = read_one(
        "$TTL 300\n\
         @ SOA ns1 host 1 2 3 4 5\n\
         \x20 NS ns1\n\
         www A 192.0.2.1\n\
         $ORIGIN sub.example.com.\n\
         $TTL 1h\n\
         a A 192.0.2.2\n\
         \t AAAA ::1\n\
         $ORIGIN deeper\n\
         @ TXT x\n",
    );
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    assert_eq!(
        summary(&r),
        [
            "example.com. 300 SOA",
            "example.com. 300 NS",
            "www.example.com. 300 A",
            "a.sub.example.com. 3600 A",
            "a.sub.example.com. 3600 AAAA",
            "deeper.sub.example.com. 3600 TXT",
        ]
    );
    assert_eq!(r[4].line, 8);
}

#[test]
fn ttl_and_class_in_either_order_or_absent() {
    let (r, f) = read_one(
        "$TTL 60\n\
         a 100 IN A 192.0.2.1\n\
         b IN 200 A 192.0.2.2\n\
         c IN A 192.0.2.3\n\
         d 1h30m A 192.0.2.4\n\
         e A 192.0.2.5\n\
         f in 2D a 192.0.2.6\n",
    );
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    let ttls: Vec<u32> = r.iter().map(|r| r.ttl).collect();
    assert_eq!(ttls, [100, 200, 60, 5400, 60, 172_800]);
}

#[test]
fn without_dollar_ttl_the_last_stated_ttl_carries_over() {
    let (r, f) = read_one(
        "@ SOA ns1 host 1 2 3 4 5\n\
         a A 192.0.2.1\n\
         b 7200 A 192.0.2.2\n\
         c A 192.0.2.3\n",
    );
    // The SOA gets its MINIMUM (BIND), which then carries over like a stated TTL.
    assert_eq!(
        summary(&r),
        [
            "example.com. 5 SOA",
            "a.example.com. 5 A",
            "b.example.com. 7200 A",
            "c.example.com. 7200 A",
        ]
    );
    assert_eq!(messages(&f.warnings).len(), 1);
    assert!(messages(&f.warnings)[0].starts_with("1 no TTL given"));

    let (r, f) = read_one("a A 192.0.2.1\nb 60 A 192.0.2.2\nc A 192.0.2.3\n");
    assert_eq!(
        r.iter().map(|r| r.ttl).collect::<Vec<_>>(),
        [FALLBACK_TTL, 60, 60]
    );
    assert_eq!(f.warnings.len(), 1);
}

#[test]
fn include_with_and_without_origin_relative_to_the_including_file() {
    let (r, f, _dir) = read_files(&[
        (
            "zones/main.zone",
            "$TTL 300\n\
             www A 192.0.2.1\n\
             $INCLUDE inc/hosts.inc lab.example.com.\n\
             \x20 AAAA ::1\n\
             $INCLUDE \"inc/plain.inc\"\n\
             after A 192.0.2.9\n",
        ),
        (
            "zones/inc/hosts.inc",
            "h1 A 10.0.0.1\n$ORIGIN other.\nh2 A 10.0.0.2\n",
        ),
        ("zones/inc/plain.inc", "p A 10.0.0.3 ; plain\n"),
    ]);
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    assert_eq!(
        summary(&r),
        [
            "www.example.com. 300 A",
            "h1.lab.example.com. 300 A",
            "h2.other. 300 A",
            // The owner and the origin come back after the include.
            "www.example.com. 300 AAAA",
            "p.example.com. 300 A",
            "after.example.com. 300 A",
        ]
    );
    assert!(r[1].file.ends_with("zones/inc/hosts.inc"));
    assert_eq!(r[2].line, 3);
}

#[test]
fn include_problems_are_reported_at_the_directive() {
    let (_, f, _dir) = read_files(&[(
        "a.zone",
        "x A 192.0.2.1\n$INCLUDE missing.inc\n$INCLUDE a.zone\n",
    )]);
    let m = messages(&f.errors);
    assert!(m[0].starts_with("2:10 cannot read "), "{m:?}");
    assert!(m.iter().any(|m| m.contains("nested $INCLUDEs")), "{m:?}");
}

#[test]
fn unsupported_records_classes_and_generate_are_listed_by_line() {
    let (r, f) = read_one(
        "$TTL 60\n\
         a A 192.0.2.1\n\
         a HINFO \"PC\" \"Linux\"\n\
         b CH A 1.2.3.4\n\
         $GENERATE 1-4 host$ A 10.0.0.$\n\
         c TYPE65280 \\# 0\n\
         d TXT \"caf\\233\"\n\
         e SSHFP 1 1 ( 123456789abcdef67890123456789abcdef67890 )\n",
    );
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    assert_eq!(summary(&r), ["a.example.com. 60 A"]);
    let m = messages(&f.unsupported);
    assert_eq!(m.len(), 6, "{m:?}");
    assert!(m[0].starts_with("3 HINFO records"), "{m:?}");
    assert!(m[1].starts_with("4 class CH"), "{m:?}");
    assert!(m[2].starts_with("5 $GENERATE"), "{m:?}");
    assert!(m[3].starts_with("6 TYPE65280"), "{m:?}");
    assert!(m[4].starts_with("7 TXT data that is not UTF-8"), "{m:?}");
    assert!(m[5].starts_with("8 SSHFP"), "{m:?}");
}

#[test]
fn syntax_errors_have_line_and_column_and_reading_goes_on() {
    let (r, f) = read_one(
        "$TTL 60\n\
         \x20A 192.0.2.1\n\
         a FOO 1\n\
         b A 192.0.2.300\n\
         c 3600\n\
         $BOGUS x\n\
         $TTL 1y\n\
         ok A 192.0.2.7\n\
         bad\\2 A 192.0.2.8\n",
    );
    assert_eq!(summary(&r), ["ok.example.com. 60 A"]);
    let m = messages(&f.errors);
    assert_eq!(
        m,
        [
            "2:2 the line starts with white space but no earlier record has an owner",
            "3:3 `FOO` is not a record type, TTL or class",
            "4:5 `192.0.2.300` is not an IPv4 address",
            "5:3 missing the record type",
            "6:1 unknown directive `$BOGUS`",
            "7:6 `1y` is not a TTL",
            "9:1 bad name `bad\\2`: bad escape",
        ]
    );
}

#[test]
fn relative_names_need_an_origin() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("zonefile");
    std::fs::write(
        &p,
        "www A 192.0.2.1\n$ORIGIN example.org.\nok A 192.0.2.2\n",
    )
    .unwrap();
    let mut f = Findings::default();
    let r = read(&p, None, &mut f).unwrap();
    assert_eq!(summary(&r), ["ok.example.org. 3600 A"]);
    assert!(messages(&f.errors)[0].starts_with("1:1 name `www` is relative and there is no origin"));
}
