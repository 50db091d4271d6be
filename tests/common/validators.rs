//! Independent DNSSEC validation of a server's answers, for the signing tests and the
//! reference runs against Knot's online signing: BIND's `delv` (Debian `bind9-dnsutils`) with a
//! static trust anchor for the zone, and a dnspython validator checked in as
//! `tests/dnssec/validate.py` (run with `/usr/bin/python3`, which has Debian's
//! `python3-dnspython` and `python3-cryptography`; `scripts/test` installs all three).
//!
//! Neither uses gslbd's code: the trust anchor, its key tag and DS digest are computed here
//! from the RFCs, and the validators are other people's.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use data_encoding::{BASE64, HEXUPPER};
use serde::Deserialize;
use serde_json::{json, Value};

/// How long one `delv` or one run of the Python validator may take before the test fails.
pub const VALIDATOR_DEADLINE: Duration = Duration::from_secs(30);

/// The Python that has dnspython on Debian (a `python3` on PATH may be another one).
pub const PYTHON: &str = "/usr/bin/python3";

/// A trust anchor for one zone: one of its DNSKEYs, or the DS of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    /// The zone apex, absolute (`example.test.`).
    pub zone: String,
    pub form: AnchorForm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorForm {
    /// A DNSKEY: flags, protocol, algorithm and the public key in base64.
    Dnskey {
        flags: u16,
        protocol: u8,
        algorithm: u8,
        public_key: String,
    },
    /// A DS: key tag, algorithm, digest type and the digest in hex.
    Ds {
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: String,
    },
}

fn absolute_name(zone: &str) -> String {
    let z = zone.trim_end_matches('.').to_ascii_lowercase();
    format!("{z}.")
}

/// The wire form of `name` (lowercased: the canonical form of RFC 4034 §6.2).
fn name_wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    out.push(0);
    out
}

impl TrustAnchor {
    /// A DNSKEY anchor from its presentation RDATA, `257 3 13 BASE64` (the base64 may be
    /// split by spaces, as dig prints it).
    pub fn dnskey(zone: &str, rdata: &str) -> TrustAnchor {
        let mut f = rdata.split_whitespace();
        let mut num = |what: &str| -> u16 {
            f.next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("DNSKEY {rdata:?}: bad {what}"))
        };
        let flags = num("flags");
        let protocol = num("protocol") as u8;
        let algorithm = num("algorithm") as u8;
        let public_key: String = f.collect();
        BASE64
            .decode(public_key.as_bytes())
            .unwrap_or_else(|e| panic!("DNSKEY {rdata:?}: public key is not base64: {e}"));
        TrustAnchor {
            zone: absolute_name(zone),
            form: AnchorForm::Dnskey {
                flags,
                protocol,
                algorithm,
                public_key,
            },
        }
    }

    /// The zone's key-signing key as the server at `addr` publishes it: its DNSKEY RRset
    /// (asked with dig) must hold exactly one key with the SEP flag (257).
    pub fn fetch_ksk(addr: SocketAddr, zone: &str) -> TrustAnchor {
        let out = super::dig(addr, &["+norec", "+short", zone, "DNSKEY"]);
        let ksks: Vec<&str> = out
            .lines()
            .filter(|l| l.split_whitespace().next() == Some("257"))
            .collect();
        assert_eq!(
            ksks.len(),
            1,
            "{zone} DNSKEY from {addr} must hold exactly one KSK:\n{out}"
        );
        TrustAnchor::dnskey(zone, ksks[0])
    }

    /// A fresh ECDSA P-256 key (a KSK, flags 257) that nothing signs with: an anchor every
    /// validation must fail with.
    pub fn unrelated_p256(zone: &str) -> TrustAnchor {
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("read the P-256 key");
        // An uncompressed point, 0x04 ‖ X ‖ Y; DNSKEY holds X ‖ Y (RFC 6605 §4).
        let point = pair.public_key().as_ref();
        TrustAnchor::dnskey(zone, &format!("257 3 13 {}", BASE64.encode(&point[1..])))
    }

    /// The DNSKEY RDATA in wire form. Panics for a DS anchor.
    fn dnskey_rdata(&self) -> Vec<u8> {
        let AnchorForm::Dnskey {
            flags,
            protocol,
            algorithm,
            public_key,
        } = &self.form
        else {
            panic!("{self:?} is not a DNSKEY anchor");
        };
        let mut rdata = flags.to_be_bytes().to_vec();
        rdata.push(*protocol);
        rdata.push(*algorithm);
        rdata.extend(BASE64.decode(public_key.as_bytes()).expect("base64"));
        rdata
    }

    /// The key tag of a DNSKEY anchor (RFC 4034 appendix B), or the DS's.
    pub fn key_tag(&self) -> u16 {
        if let AnchorForm::Ds { key_tag, .. } = self.form {
            return key_tag;
        }
        let mut acc: u32 = 0;
        for (i, b) in self.dnskey_rdata().iter().enumerate() {
            acc += if i % 2 == 0 {
                (*b as u32) << 8
            } else {
                *b as u32
            };
        }
        acc += (acc >> 16) & 0xffff;
        (acc & 0xffff) as u16
    }

    /// The SHA-256 DS (digest type 2) of a DNSKEY anchor (RFC 4509).
    pub fn to_ds(&self) -> TrustAnchor {
        let mut data = name_wire(&self.zone);
        data.extend(self.dnskey_rdata());
        let digest = ring::digest::digest(&ring::digest::SHA256, &data);
        let AnchorForm::Dnskey { algorithm, .. } = self.form else {
            unreachable!()
        };
        TrustAnchor {
            zone: self.zone.clone(),
            form: AnchorForm::Ds {
                key_tag: self.key_tag(),
                algorithm,
                digest_type: 2,
                digest: HEXUPPER.encode(digest.as_ref()),
            },
        }
    }

    /// The same anchor with the last byte of its key (or digest) flipped: it no longer
    /// matches the zone's key.
    pub fn corrupted(&self) -> TrustAnchor {
        let mut a = self.clone();
        match &mut a.form {
            AnchorForm::Dnskey { public_key, .. } => {
                let mut k = BASE64.decode(public_key.as_bytes()).unwrap();
                *k.last_mut().unwrap() ^= 0x01;
                *public_key = BASE64.encode(&k);
            }
            AnchorForm::Ds { digest, .. } => {
                let mut d = HEXUPPER.decode(digest.as_bytes()).unwrap();
                *d.last_mut().unwrap() ^= 0x01;
                *digest = HEXUPPER.encode(&d);
            }
        }
        a
    }

    /// The RDATA in presentation form: `257 3 13 BASE64` or `TAG 13 2 HEX`.
    pub fn rdata_text(&self) -> String {
        match &self.form {
            AnchorForm::Dnskey {
                flags,
                protocol,
                algorithm,
                public_key,
            } => format!("{flags} {protocol} {algorithm} {public_key}"),
            AnchorForm::Ds {
                key_tag,
                algorithm,
                digest_type,
                digest,
            } => format!("{key_tag} {algorithm} {digest_type} {digest}"),
        }
    }

    /// The `trust-anchors { ... };` statement delv reads with `-a`.
    pub fn delv_conf(&self) -> String {
        let (kind, rdata) = match &self.form {
            AnchorForm::Dnskey {
                flags,
                protocol,
                algorithm,
                public_key,
            } => (
                "static-key",
                format!("{flags} {protocol} {algorithm} \"{public_key}\""),
            ),
            AnchorForm::Ds {
                key_tag,
                algorithm,
                digest_type,
                digest,
            } => (
                "static-ds",
                format!("{key_tag} {algorithm} {digest_type} \"{digest}\""),
            ),
        };
        format!(
            "trust-anchors {{\n  \"{}\" {kind} {rdata};\n}};\n",
            self.zone
        )
    }

    /// The anchor as the Python validator takes it.
    fn json(&self) -> Value {
        match self.form {
            AnchorForm::Dnskey { .. } => json!({ "dnskey": self.rdata_text() }),
            AnchorForm::Ds { .. } => json!({ "ds": self.rdata_text() }),
        }
    }
}

/// Runs `cmd` with `stdin` fed to it; (exit status, stdout, stderr). Fails the test when it
/// runs past [`VALIDATOR_DEADLINE`] (it is killed by its pid) or cannot start.
fn run_bounded(mut cmd: Command, stdin: &[u8], what: &str) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + VALIDATOR_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the validator") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {VALIDATOR_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    (status.success(), out, err)
}

// ---------------------------------------------------------------------------------------------
// delv

/// What delv concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelvVerdict {
    /// `; fully validated`: a positive answer.
    FullyValidated,
    /// `; negative response, fully validated`; `nxdomain` when delv says `ncache nxdomain`,
    /// false for NODATA (`ncache nxrrset`).
    NegativeValidated { nxdomain: bool },
    /// `; unsigned answer` (or a negative one).
    Unsigned,
    /// `;; resolution failed: REASON` without a validated negative answer (e.g. `broken trust
    /// chain`, `no valid RRSIG`, `failure`).
    Failed(String),
    /// None of the above: read `Delv::output`.
    Unknown,
}

/// One delv run: its verdict and everything it printed (stdout and stderr).
#[derive(Debug, Clone)]
pub struct Delv {
    pub verdict: DelvVerdict,
    pub output: String,
}

impl Delv {
    /// Asserts a positive answer delv validated fully; returns the output.
    pub fn assert_validated(&self, what: &str) -> &str {
        assert_eq!(
            self.verdict,
            DelvVerdict::FullyValidated,
            "delv {what}:\n{}",
            self.output
        );
        &self.output
    }
}

/// The installed `delv`, or a failure naming the package.
fn delv_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("delv"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`delv` is not installed: install bind9-dnsutils (./scripts/test does)")
        })
}

/// Reads delv 9.18's verdict from its output.
pub fn delv_verdict(output: &str) -> DelvVerdict {
    let has = |line: &str| output.lines().any(|l| l.trim() == line);
    let failed = output
        .lines()
        .find_map(|l| l.strip_prefix(";; resolution failed: "))
        .map(str::trim);
    if has("; fully validated") {
        DelvVerdict::FullyValidated
    } else if has("; negative response, fully validated") {
        DelvVerdict::NegativeValidated {
            nxdomain: failed == Some("ncache nxdomain"),
        }
    } else if has("; unsigned answer") || has("; negative response, unsigned answer") {
        DelvVerdict::Unsigned
    } else if let Some(reason) = failed {
        DelvVerdict::Failed(reason.to_string())
    } else {
        DelvVerdict::Unknown
    }
}

/// Asks `name`/`rtype` of the server at `addr` with delv, validating from `anchor` as the
/// trust point (`+root=ZONE`, the anchor in a `-a` file):
/// `delv @IP -p PORT -a FILE +root=ZONE +nortrace +nomtrace +novtrace NAME TYPE`.
///
/// delv asks with RD set and follows no referral (9.18 has no `+ns` mode), so it validates
/// names in the zone itself; referrals are for [`validate_py`].
pub fn delv(addr: SocketAddr, anchor: &TrustAnchor, name: &str, rtype: &str) -> Delv {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("anchors.conf");
    std::fs::write(&file, anchor.delv_conf()).expect("write the anchors file");
    let mut cmd = Command::new(delv_binary());
    cmd.arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string()])
        .arg("-a")
        .arg(&file)
        .arg(format!("+root={}", anchor.zone))
        .args(["+nortrace", "+nomtrace", "+novtrace", name, rtype]);
    // delv exits 0 for validation failures too: the verdict is in its output.
    let (_, out, err) = run_bounded(cmd, b"", &format!("delv {name} {rtype}"));
    let output = format!("{err}{out}");
    Delv {
        verdict: delv_verdict(&output),
        output,
    }
}

// ---------------------------------------------------------------------------------------------
// The dnspython validator

/// The checked-in validator script.
pub fn validate_py_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dnssec/validate.py")
}

/// One query for [`validate_py`]: always with DO; CO (0x4000 in the EDNS flags), ECS and TCP
/// when asked.
#[derive(Debug, Clone, Default)]
pub struct PyQuery {
    pub name: String,
    pub rtype: String,
    pub co: bool,
    /// `ADDRESS/PREFIX`, e.g. `192.0.2.0/24`.
    pub ecs: Option<String>,
    pub tcp: bool,
}

impl PyQuery {
    pub fn new(name: &str, rtype: &str) -> PyQuery {
        PyQuery {
            name: name.to_string(),
            rtype: rtype.to_string(),
            ..PyQuery::default()
        }
    }

    /// The same query with the Compact Answers OK flag (RFC 9824).
    pub fn co(mut self) -> PyQuery {
        self.co = true;
        self
    }

    pub fn ecs(mut self, subnet: &str) -> PyQuery {
        self.ecs = Some(subnet.to_string());
        self
    }

    pub fn tcp(mut self) -> PyQuery {
        self.tcp = true;
        self
    }
}

/// The Python validator's verdict on one query (see the header of `validate.py`).
#[derive(Debug, Clone, Deserialize)]
pub struct PyVerdict {
    /// Every check passed.
    pub valid: bool,
    /// `answer`, `nodata`, `nxdomain`, `referral`, `bogus` (the zone's keys did not validate
    /// against the anchor) or `error` (no usable reply).
    pub kind: String,
    pub rcode: Option<String>,
    pub aa: Option<bool>,
    /// The CO flag in the reply's EDNS flags.
    pub co_in_reply: Option<bool>,
    /// The NSEC shape of a denial: `compact`, `compact-nxname`, `nsec-at-name`,
    /// `empty-non-terminal`, `covering`, `wildcard-nodata`.
    pub denial: Option<String>,
    /// For answers: `existing` (RRSIG labels = owner labels) or `wildcard-expansion`.
    pub signed_as: Option<String>,
    /// For referrals: `signed` (DS), `insecure` (NSEC at the cut), `ds-missing`.
    pub referral: Option<String>,
    /// The CNAME owners followed from the query name.
    pub chain: Vec<String>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    #[serde(default)]
    pub answer: Vec<String>,
    #[serde(default)]
    pub authority: Vec<String>,
    #[serde(default)]
    pub additional: Vec<String>,
    /// The whole verdict as the script wrote it.
    #[serde(skip)]
    pub raw: Value,
}

impl PyVerdict {
    /// Asserts the verdict is valid and of `kind`; returns it for more checks.
    pub fn expect(&self, kind: &str) -> &PyVerdict {
        assert!(
            self.valid && self.kind == kind,
            "expected a valid {kind}, the validator says:\n{}",
            serde_json::to_string_pretty(&self.raw).unwrap()
        );
        self
    }

    /// The whole verdict, pretty, for failure messages.
    pub fn dump(&self) -> String {
        serde_json::to_string_pretty(&self.raw).unwrap()
    }
}

/// Runs `validate.py` against the server at `addr` for every query of `queries`, trusting
/// `anchor`, with signature validity checked at `at` (Unix seconds; now when `None`). One
/// verdict per query, in order.
pub fn validate_py(
    addr: SocketAddr,
    anchor: &TrustAnchor,
    queries: &[PyQuery],
    at: Option<u64>,
) -> Vec<PyVerdict> {
    let request = json!({
        "server": addr.ip().to_string(),
        "port": addr.port(),
        "zone": anchor.zone,
        "anchor": anchor.json(),
        "time": at,
        "queries": queries.iter().map(|q| json!({
            "name": q.name, "type": q.rtype, "co": q.co, "ecs": q.ecs, "tcp": q.tcp,
        })).collect::<Vec<_>>(),
    });
    assert!(
        Path::new(PYTHON).is_file(),
        "{PYTHON} is missing: install python3, python3-dnspython and python3-cryptography \
         (./scripts/test does)"
    );
    let mut cmd = Command::new(PYTHON);
    cmd.arg(validate_py_script());
    let (ok, out, err) = run_bounded(cmd, request.to_string().as_bytes(), "validate.py");
    assert!(
        ok,
        "validate.py failed (does {PYTHON} have dnspython? install python3-dnspython and \
         python3-cryptography, as ./scripts/test does):\n{err}\n{out}"
    );
    let doc: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("validate.py wrote no JSON ({e}):\n{out}\n{err}"));
    let results = doc["results"].as_array().expect("results").clone();
    assert_eq!(
        results.len(),
        queries.len(),
        "one verdict per query:\n{out}"
    );
    results
        .into_iter()
        .map(|raw| {
            let mut v: PyVerdict = serde_json::from_value(raw.clone())
                .unwrap_or_else(|e| panic!("verdict not understood ({e}): {raw}"));
            v.raw = raw;
            v
        })
        .collect()
}

/// [`validate_py`] for one query.
pub fn validate_one(addr: SocketAddr, anchor: &TrustAnchor, query: PyQuery) -> PyVerdict {
    validate_py(addr, anchor, &[query], None).remove(0)
}
