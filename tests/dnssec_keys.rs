//! DNSSEC keys (spec §9) against the tools that make and read them: keys of dnssec-keygen,
//! ldns-keygen and Knot's keymgr load as they are and give the DS BIND (or Knot) computes; keys
//! of `gslbd dnssec keygen` are read by BIND (DS, and signing a zone), ldns and keymgr; a bad
//! key file fails `gslbd check` naming the file; a reload with one keeps the old DNSKEY RRset
//! serving.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::dnssec::*;
use common::*;

/// The `gslbd check` summary line of `origin`, which must pass.
fn check_line(z: &Zones, origin: &str) -> String {
    let o = z.check();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "check failed:\n{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{origin}: ")))
        .unwrap_or_else(|| panic!("no line for {origin} in:\n{out}"))
        .to_string();
    // scripts/conformance reads `ORIGIN: N names, serial S[^(]* (FILE)`.
    let (head, file) = line.rsplit_once(" (").expect("(FILE) at the end");
    assert!(file.ends_with(".json)"), "{line}");
    assert!(!head.contains('('), "a `(` before the file name: {line}");
    line
}

fn key_path(z: &Zones, base: &str) -> std::path::PathBuf {
    z.zones_dir().join(format!("{base}.key"))
}

/// dnssec-keygen (ECDSA P-256 and Ed25519, KSK and ZSK) and ldns-keygen (the same, `-k` for
/// the KSK): every pair loads as written, `check` lists it with its role and tag, and
/// `gslbd dnssec ds` prints what `dnssec-dsfromkey -2` prints for the KSK, and nothing for
/// the ZSK.
#[test]
fn keys_of_bind_and_ldns_load_and_give_bind_s_ds() {
    let z = Zones::new();
    let dir = z.zones_dir();
    let mut zones = Vec::new();
    for (alg, number) in [("ECDSAP256SHA256", 13), ("ED25519", 15)] {
        let origin = format!("bind{number}.test.");
        let ksk = bind_keygen(dir, &origin, &["-a", alg, "-f", "KSK"]);
        let zsk = bind_keygen(dir, &origin, &["-a", alg]);
        zones.push((origin, ksk, zsk, number));
        let origin = format!("ldns{number}.test.");
        let ksk = ldns_keygen(dir, &origin, &["-a", alg, "-k"]);
        let zsk = ldns_keygen(dir, &origin, &["-a", alg]);
        zones.push((origin, ksk, zsk, number));
    }
    for (origin, ksk, zsk, _) in &zones {
        signed_zone(&z, origin, &[ksk, zsk]);
    }
    for (origin, ksk, zsk, number) in &zones {
        let line = check_line(&z, origin);
        let want = format!(
            ", signed with 2 keys: KSK {} alg {number}, ZSK {} alg {number} (",
            tag_of(ksk),
            tag_of(zsk)
        );
        assert!(line.contains(&want), "{line}\nlacks {want}");
        let ours = gslbd_ds_records(dir, origin);
        let bind = bind_ds(&key_path(&z, ksk));
        assert_eq!(bind.len(), 1, "{bind:?}");
        assert_eq!(ours, bind, "{origin}: gslbd and dnssec-dsfromkey differ");
        assert_eq!(ours[0].tag, tag_of(ksk));
    }
}

/// Keys of Knot's keymgr (`generate`), P-256 and Ed25519: its DNSKEY (`keymgr dnskey`) as
/// `NAME.key` and its private key file (`keys/<id>.pem`) as `NAME.pem` load, and `gslbd dnssec
/// ds` prints the SHA-256 DS `keymgr ds` prints.
#[test]
fn keys_of_knot_keymgr_load_from_its_dnskey_and_pem() {
    let z = Zones::new();
    let dir = z.zones_dir();
    let kasp = tempfile::tempdir().unwrap();
    for (alg, number) in [("ECDSAP256SHA256", 13), ("ED25519", 15)] {
        let origin = format!("knot{number}.test.");
        let ksk = keymgr_key(
            kasp.path(),
            dir,
            &origin,
            &[&format!("algorithm={alg}"), "ksk=yes"],
        );
        let zsk = keymgr_key(kasp.path(), dir, &origin, &[&format!("algorithm={alg}")]);
        signed_zone(&z, &origin, &[&ksk, &zsk]);
        let line = check_line(&z, &origin);
        let want = format!(
            "signed with 2 keys: KSK {} alg {number}, ZSK {} alg {number}",
            tag_of(&ksk),
            tag_of(&zsk)
        );
        assert!(line.contains(&want), "{line}\nlacks {want}");
        let ours = gslbd_ds_records(dir, &origin);
        let knot = parse_ds(&keymgr(
            kasp.path(),
            &origin,
            &["ds", &tag_of(&ksk).to_string()],
        ));
        let knot: Vec<Ds> = knot.into_iter().filter(|d| d.digest_type == 2).collect();
        assert_eq!(ours, knot, "{origin}: gslbd and keymgr differ");
    }
}

/// Keys of `gslbd dnssec keygen`, both algorithms: dnssec-dsfromkey, ldns-key2ds and Knot's
/// `keymgr import-bind` + `ds` give the DS gslbd prints; dnssec-signzone signs a zone with the
/// pairs (reading the private keys and the KSK/ZSK roles) and dnssec-verify accepts it.
#[test]
fn keys_of_gslbd_are_read_by_bind_ldns_and_knot() {
    let z = Zones::new();
    let dir = z.zones_dir();
    let origin = "example.com.";
    let ksk13 = gslbd_keygen(dir, "example.com", &["--ksk"]);
    let zsk13 = gslbd_keygen(dir, origin, &["--algorithm", "13"]);
    let ksk15 = gslbd_keygen(dir, origin, &["--algorithm", "ED25519", "--ksk"]);
    let zsk15 = gslbd_keygen(dir, origin, &["--algorithm", "15"]);
    for (base, prefix) in [
        (&ksk13, "Kexample.com.+013+"),
        (&zsk13, "Kexample.com.+013+"),
        (&ksk15, "Kexample.com.+015+"),
        (&zsk15, "Kexample.com.+015+"),
    ] {
        assert!(
            base.starts_with(prefix) && base.len() == prefix.len() + 5,
            "{base}"
        );
        assert!(dir.join(format!("{base}.private")).is_file(), "{base}");
    }
    signed_zone(&z, origin, &[&ksk13, &zsk13, &ksk15, &zsk15]);
    check_line(&z, origin);

    let ours = gslbd_ds_records(dir, origin);
    let mut bind = Vec::new();
    let mut ldns = Vec::new();
    for ksk in [&ksk13, &ksk15] {
        bind.extend(bind_ds(&key_path(&z, ksk)));
        ldns.extend(ldns_ds(&key_path(&z, ksk)));
    }
    assert_eq!(ours, bind, "gslbd and dnssec-dsfromkey");
    assert_eq!(ours, ldns, "gslbd and ldns-key2ds");

    let kasp = tempfile::tempdir().unwrap();
    let keymgr = tool("keymgr", "knot");
    for (ksk, want) in [&ksk13, &ksk15].into_iter().zip(&ours) {
        run(Command::new(&keymgr)
            .arg("-D")
            .arg(kasp.path())
            .args([origin, "import-bind"])
            .arg(key_path(&z, ksk)));
        let knot = parse_ds(&run(Command::new(&keymgr)
            .arg("-D")
            .arg(kasp.path())
            .args([origin, "ds", &tag_of(ksk).to_string()])));
        assert!(
            knot.contains(want),
            "keymgr's DS {knot:?} lacks gslbd's {want:?}"
        );
    }

    let master = z.zones_dir().join("db.example.com");
    std::fs::write(
        &master,
        "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\n",
    )
    .unwrap();
    let signed = z.zones_dir().join("db.example.com.signed");
    // In the zones directory: dnssec-signzone writes its dsset file into the current one.
    let out = run(Command::new(tool("dnssec-signzone", "bind9-utils"))
        .current_dir(dir)
        .args(["-S", "-K"])
        .arg(dir)
        .args(["-o", "example.com", "-f"])
        .arg(&signed)
        .arg(&master));
    for (ksk, zsk, alg) in [
        (&ksk13, &zsk13, "ECDSAP256SHA256"),
        (&ksk15, &zsk15, "ED25519"),
    ] {
        for (base, role) in [(ksk, "KSK"), (zsk, "ZSK")] {
            let fetched = format!("example.com/{alg}/{} ({role})", tag_of(base));
            assert!(out.contains(&fetched), "signzone lacks {fetched}:\n{out}");
        }
    }
    run(Command::new(tool("dnssec-verify", "bind9-utils"))
        .args(["-o", "example.com"])
        .arg(&signed));
}

/// Each broken key is a problem of its zone's `dnssec.keys[0]`, naming the key file: a missing
/// `.private`, a `.key` of another zone, an RSA key, a `.private` of another key.
#[test]
fn bad_key_files_fail_check_naming_the_file() {
    let z = Zones::new();
    let dir = z.zones_dir();
    let p256 = ["-a", "ECDSAP256SHA256", "-f", "KSK"];

    let missing = bind_keygen(dir, "missing.test", &p256);
    std::fs::remove_file(dir.join(format!("{missing}.private"))).unwrap();
    signed_zone(&z, "missing.test.", &[&missing]);

    let foreign = bind_keygen(dir, "elsewhere.test", &p256);
    signed_zone(&z, "other.test.", &[&foreign]);

    let rsa = bind_keygen(
        dir,
        "rsa.test",
        &["-a", "RSASHA256", "-b", "2048", "-f", "KSK"],
    );
    signed_zone(&z, "rsa.test.", &[&rsa]);

    let swapped = bind_keygen(dir, "swapped.test", &p256);
    let donor = bind_keygen(dir, "swapped.test", &p256);
    std::fs::copy(
        dir.join(format!("{donor}.private")),
        dir.join(format!("{swapped}.private")),
    )
    .unwrap();
    signed_zone(&z, "swapped.test.", &[&swapped]);

    let err = check_fails(&z);
    line_with(
        &err,
        "missing.test.json",
        &[
            "dnssec.keys[0]",
            &format!("{missing}.private: does not exist"),
        ],
    );
    line_with(
        &err,
        "other.test.json",
        &[
            "dnssec.keys[0]",
            &format!("{foreign}.key:"),
            "the key is of zone `elsewhere.test.`, not of `other.test.`",
        ],
    );
    line_with(
        &err,
        "rsa.test.json",
        &[
            "dnssec.keys[0]",
            &format!("{rsa}.key:"),
            "algorithm 8 (RSASHA256): not supported",
        ],
    );
    line_with(
        &err,
        "swapped.test.json",
        &[
            "dnssec.keys[0]",
            &format!("{swapped}.private: the private key does not match the public key"),
        ],
    );

    // `gslbd dnssec ds` refuses the same way, and says so of an unsigned zone.
    let o = gslbd_ds(dir, "missing.test");
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    line_with(
        &stderr,
        "missing.test.json",
        &[&format!("{missing}.private")],
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    z.zone("plain.test.", serde_json::json!({}));
    let o = gslbd_ds(dir, "plain.test.");
    assert_eq!(o.status.code(), Some(1));
    line_with(
        &String::from_utf8_lossy(&o.stderr),
        "plain.test.json",
        &["not signed"],
    );
    // A zone with no file here says so, and which file it looked for.
    let o = gslbd_ds(dir, "nosuch.test");
    assert_eq!(o.status.code(), Some(1));
    line_with(
        &String::from_utf8_lossy(&o.stderr),
        "nosuch.test.json",
        &["no zone `nosuch.test.` here", "is --zones right?"],
    );
}

/// `dig +short TYPE` at the apex, each record normalised (base64 or hex joined), sorted.
fn apex(s: &Server, rtype: &str) -> Vec<String> {
    let mut v: Vec<String> = dig(s.addr(), &["example.com.", rtype, "+short"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match rtype {
            "DNSKEY" | "CDNSKEY" => normalise_dnskey(l),
            // DS-like: tag, algorithm, digest type, then the hex (dig splits it).
            _ => normalise_dnskey(l).to_lowercase(),
        })
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A served signed zone: DNSKEY, CDS and CDNSKEY at the apex. A reload listing a key whose
/// `.private` is missing is refused with the file named, and the old DNSKEY RRset keeps being
/// served; once the file is back, the reload adds the key to the DNSKEY RRset (a ZSK: CDS and
/// CDNSKEY stay the KSK's).
#[test]
fn a_reload_with_a_bad_key_keeps_the_old_dnskey_rrset() {
    let z = Zones::new();
    let dir = z.zones_dir().to_path_buf();
    let ksk = gslbd_keygen(&dir, "example.com", &["--ksk"]);
    signed_zone(&z, "example.com.", &[&ksk]);
    let ksk_rdata = dnskey_rdata(&key_path(&z, &ksk));
    // CDS as BIND computes the DS of the KSK.
    let ds = bind_ds(&key_path(&z, &ksk));
    let cds = format!("{} 13 2 {}", ds[0].tag, ds[0].digest);

    let s = Server::start(&dir, z.geo_dir(), &["--admin", "127.0.0.1:0", "--no-watch"]);
    assert_eq!(apex(&s, "DNSKEY"), [ksk_rdata.as_str()]);
    assert_eq!(apex(&s, "CDNSKEY"), [ksk_rdata.as_str()]);
    assert_eq!(apex(&s, "CDS"), [cds.as_str()]);

    let zsk = gslbd_keygen(&dir, "example.com", &[]);
    let zsk_rdata = dnskey_rdata(&key_path(&z, &zsk));
    let private = dir.join(format!("{zsk}.private"));
    let aside = dir.join("aside");
    std::fs::rename(&private, &aside).unwrap();
    signed_zone(&z, "example.com.", &[&ksk, &zsk]);
    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 422, "{body}");
    assert!(
        body.contains("dnssec.keys[1]") && body.contains(&format!("{zsk}.private")),
        "{body}"
    );
    assert_eq!(apex(&s, "DNSKEY"), [ksk_rdata.as_str()], "the old RRset");

    std::fs::rename(&aside, &private).unwrap();
    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    let both = sorted(vec![ksk_rdata.clone(), zsk_rdata]);
    wait_for("the new DNSKEY RRset", Duration::from_secs(2), || {
        let got = apex(&s, "DNSKEY");
        (got == both).then_some(()).ok_or(format!("{got:?}"))
    });
    assert_eq!(apex(&s, "CDNSKEY"), [ksk_rdata]);
    assert_eq!(apex(&s, "CDS"), [cds]);
}

/// Keys listed by a path below the zones directory load too (a `keys/` subdirectory).
#[test]
fn keys_in_a_subdirectory_load() {
    let z = Zones::new();
    let keys = z.zones_dir().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let ksk = gslbd_keygen(&keys, "example.com", &["--ksk", "--algorithm", "15"]);
    let listed = format!("keys/{ksk}");
    signed_zone(&z, "example.com.", &[&listed]);
    let line = check_line(&z, "example.com.");
    assert!(
        line.contains(&format!("signed with 1 key: KSK {} alg 15", tag_of(&ksk))),
        "{line}"
    );
    let ours = gslbd_ds_records(z.zones_dir(), "example.com");
    assert_eq!(ours, bind_ds(&Path::new(&keys).join(format!("{ksk}.key"))));
}
