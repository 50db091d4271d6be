//! DNSSEC key helpers: the other tools that make and read BIND key files (dnssec-keygen and
//! dnssec-dsfromkey from bind9-utils, ldns-keygen and ldns-key2ds from ldnsutils, keymgr from
//! knot), `gslbd dnssec keygen|ds`, DS lines parsed for comparison, and signed zone fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{bin, zone_json, Zones};

/// The path of an installed tool (also looked for in /usr/sbin, outside a user's PATH).
/// Fails, never skips, when it is missing: `./scripts/test` installs `package`.
pub fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: install {package} (apt-get install {package}), \
                 or run ./scripts/test which installs it"
            )
        })
}

/// Runs `cmd` and returns its stdout; fails the test with stderr when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The last line of `text`, trimmed (key tools print the base name last).
fn last_line(text: &str) -> String {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `dnssec-keygen -K DIR ARGS... ZONE`; returns the base name.
pub fn bind_keygen(dir: &Path, zone: &str, args: &[&str]) -> String {
    last_line(&run(Command::new(tool("dnssec-keygen", "bind9-utils"))
        .arg("-K")
        .arg(dir)
        .args(args)
        .arg(zone)))
}

/// `ldns-keygen ARGS... ZONE` in DIR; returns the base name.
pub fn ldns_keygen(dir: &Path, zone: &str, args: &[&str]) -> String {
    last_line(&run(Command::new(tool("ldns-keygen", "ldnsutils"))
        .current_dir(dir)
        .args(args)
        .arg(zone)))
}

/// `gslbd dnssec keygen ZONE --dir DIR ARGS...`; returns the base name it prints.
pub fn gslbd_keygen(dir: &Path, zone: &str, args: &[&str]) -> String {
    let out = run(Command::new(bin())
        .args(["dnssec", "keygen", zone, "--dir"])
        .arg(dir)
        .args(args));
    assert_eq!(out.lines().count(), 1, "keygen prints one line: {out:?}");
    out.trim().to_string()
}

/// `gslbd dnssec ds ZONE --zones DIR`.
pub fn gslbd_ds(zones: &Path, zone: &str) -> Output {
    Command::new(bin())
        .args(["dnssec", "ds", zone, "--zones"])
        .arg(zones)
        .env("GSLBD_LOG", "warn")
        .output()
        .expect("run gslbd dnssec ds")
}

/// The DS records `gslbd dnssec ds` prints (it must succeed).
pub fn gslbd_ds_records(zones: &Path, zone: &str) -> Vec<Ds> {
    let o = gslbd_ds(zones, zone);
    assert!(
        o.status.success(),
        "gslbd dnssec ds {zone} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    parse_ds(&String::from_utf8_lossy(&o.stdout))
}

/// `dnssec-dsfromkey -2 KEYFILE`: BIND's DS (SHA-256) of a `.key` file.
pub fn bind_ds(key_file: &Path) -> Vec<Ds> {
    parse_ds(&run(Command::new(tool("dnssec-dsfromkey", "bind9-utils"))
        .arg("-2")
        .arg(key_file)))
}

/// `ldns-key2ds -n -2 KEYFILE`: ldns's DS (SHA-256) of a `.key` file.
pub fn ldns_ds(key_file: &Path) -> Vec<Ds> {
    parse_ds(&run(Command::new(tool("ldns-key2ds", "ldnsutils"))
        .args(["-n", "-2"])
        .arg(key_file)))
}

/// One DS record, fields as compared: owner and digest in lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ds {
    pub owner: String,
    pub tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    pub digest: String,
}

/// Every DS record of presentation text (`owner [TTL] [IN] DS tag alg type hex...`, any white
/// space); other lines fail the test.
pub fn parse_ds(text: &str) -> Vec<Ds> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let at = f
                .iter()
                .position(|t| t.eq_ignore_ascii_case("DS"))
                .unwrap_or_else(|| panic!("not a DS line: {l:?}"));
            let num = |i: usize| {
                f.get(at + i)
                    .unwrap_or_else(|| panic!("short DS line: {l:?}"))
                    .to_string()
            };
            Ds {
                owner: f[0].to_ascii_lowercase(),
                tag: num(1).parse().expect("key tag"),
                algorithm: num(2).parse().expect("algorithm"),
                digest_type: num(3).parse().expect("digest type"),
                digest: f[at + 4..].concat().to_ascii_lowercase(),
            }
        })
        .collect()
}

/// The key tag in a base name (`Kexample.com.+013+05474` → 5474).
pub fn tag_of(base: &str) -> u16 {
    base.rsplit('+')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no key tag in {base:?}"))
}

/// The DNSKEY RDATA (`257 3 13 base64`) of a `.key` file, white space in the key removed.
pub fn dnskey_rdata(key_file: &Path) -> String {
    let text = std::fs::read_to_string(key_file).expect("read .key");
    let line = text
        .lines()
        .map(|l| l.split(';').next().unwrap_or(""))
        .find(|l| l.contains("DNSKEY"))
        .unwrap_or_else(|| panic!("no DNSKEY in {}", key_file.display()));
    let f: Vec<&str> = line.split_whitespace().collect();
    let at = f.iter().position(|t| *t == "DNSKEY").unwrap();
    normalise_dnskey(&f[at + 1..].join(" "))
}

/// `257 3 13 abc def` → `257 3 13 abcdef` (DNSKEY, or DS with its hex split alike).
pub fn normalise_dnskey(rdata: &str) -> String {
    let f: Vec<&str> = rdata.split_whitespace().collect();
    assert!(f.len() >= 4, "not DNSKEY or DS RDATA: {rdata:?}");
    format!("{} {} {} {}", f[0], f[1], f[2], f[3..].concat())
}

/// Writes `<origin>.json` (apex NS, TTL 3600) signed by the key pairs `keys` (base names in
/// the zones directory).
pub fn signed_zone(z: &Zones, origin: &str, keys: &[&str]) -> PathBuf {
    let text = zone_json(
        origin,
        3600,
        60,
        serde_json::json!({ "ns1": { "A": ["192.0.2.53"] } }),
    );
    let mut zone: serde_json::Value = serde_json::from_str(&text).unwrap();
    zone["dnssec"] = serde_json::json!({ "keys": keys });
    let file = format!("{}.json", origin.trim_end_matches('.'));
    z.file(&file, &serde_json::to_string_pretty(&zone).unwrap())
}

/// `keymgr -D KASP ZONE ARGS...` (Knot's key manager on a KASP database directory).
pub fn keymgr(kasp: &Path, zone: &str, args: &[&str]) -> String {
    run(Command::new(tool("keymgr", "knot"))
        .arg("-D")
        .arg(kasp)
        .arg(zone)
        .args(args))
}

/// Makes a key with `keymgr generate ATTRS...` and puts it where gslbd reads it, as keymgr
/// gives it: `keymgr dnskey` into `DIR/NAME.key` and its PEM (`KASP/keys/<id>.pem`) as
/// `DIR/NAME.pem`, NAME being BIND's base name. Returns NAME.
pub fn keymgr_key(kasp: &Path, dir: &Path, zone: &str, attrs: &[&str]) -> String {
    let mut args = vec!["generate"];
    args.extend_from_slice(attrs);
    let id = last_line(&keymgr(kasp, zone, &args));
    let listed = keymgr(kasp, zone, &["list"]);
    let tag: u16 = listed
        .lines()
        .find(|l| l.starts_with(&id))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tag of {id} in keymgr list:\n{listed}"));
    let dnskey = keymgr(kasp, zone, &["dnskey", &tag.to_string()]);
    let alg: u8 = dnskey
        .split_whitespace()
        .nth(4)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no algorithm in {dnskey:?}"));
    let name = format!("K{zone}+{alg:03}+{tag:05}");
    std::fs::write(dir.join(format!("{name}.key")), dnskey).unwrap();
    std::fs::copy(
        kasp.join("keys").join(format!("{id}.pem")),
        dir.join(format!("{name}.pem")),
    )
    .unwrap();
    name
}
