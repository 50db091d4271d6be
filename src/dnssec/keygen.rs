//! Making key pairs and writing them in BIND's format, as dnssec-keygen does:
//! `K<zone>.+<alg>+<tag>.key` (the DNSKEY record) and `.private` (`Private-key-format: v1.3`,
//! mode 0600), so BIND, ldns and Knot (`keymgr import-bind`) read them too.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use data_encoding::BASE64;

use super::ds::dnskey_text;
use super::key::{Algorithm, Key, KeyError, FLAGS_KSK, FLAGS_ZSK};
use super::keyfile::with_suffix;
use crate::dns::name::WireName;

/// Why a key pair could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error("zone `{zone}`: {reason}")]
    Zone { zone: String, reason: String },
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("cannot write {}: {error}", .path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("every new key's file name is taken in {}", .0.display())]
    Taken(PathBuf),
}

/// `13`, `15`, or the mnemonics `ECDSAP256SHA256` and `ED25519` (any case).
impl FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        super::keyfile::algorithm_number(s)
            .and_then(Algorithm::from_number)
            .ok_or_else(|| format!("`{s}`: use 13 (ECDSAP256SHA256, the default) or 15 (ED25519)"))
    }
}

/// The zone name of a command line argument: `example.com` or `example.com.`.
pub fn zone_name(text: &str) -> Result<WireName, String> {
    let fqdn = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    WireName::parse(&fqdn, None)
}

/// BIND's base name of a key: `Kexample.com.+013+05474` (the zone with its final dot, the
/// algorithm in 3 digits, the key tag in 5).
pub fn base_name(origin: &WireName, key: &Key) -> String {
    format!("K{origin}+{:03}+{:05}", key.algorithm.number(), key.tag)
}

/// `YYYYMMDDHHMMSS` (UTC), BIND's timing metadata format.
fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// The `.key` file: comments as dnssec-keygen writes them, then the DNSKEY record.
pub fn key_file_text(origin: &WireName, key: &Key, created: SystemTime) -> String {
    let kind = if key.is_ksk() {
        "key-signing"
    } else {
        "zone-signing"
    };
    let when = timestamp(created);
    let rfc3339 = humantime::format_rfc3339_seconds(created);
    format!(
        "; This is a {kind} key, keyid {}, for {origin}\n\
         ; Created: {when} ({rfc3339})\n\
         ; Publish: {when} ({rfc3339})\n\
         ; Activate: {when} ({rfc3339})\n\
         {origin} IN DNSKEY {}\n",
        key.tag,
        dnskey_text(&key.dnskey)
    )
}

/// The `.private` file, format v1.3, with BIND's Created, Publish and Activate times.
pub fn private_file_text(key: &Key, created: SystemTime) -> String {
    let when = timestamp(created);
    format!(
        "Private-key-format: v1.3\n\
         Algorithm: {} ({})\n\
         PrivateKey: {}\n\
         Created: {when}\n\
         Publish: {when}\n\
         Activate: {when}\n",
        key.algorithm.number(),
        key.algorithm.mnemonic(),
        BASE64.encode(key.private_key())
    )
}

/// Makes a key of `algorithm` for `zone` (a KSK when `ksk`, else a ZSK), writes its pair into
/// `dir` and returns the base name. Never overwrites a file: a new key is made while the key
/// tag's file names are taken.
pub fn keygen(
    zone: &str,
    algorithm: Algorithm,
    ksk: bool,
    dir: &Path,
) -> Result<String, KeygenError> {
    let origin = zone_name(zone).map_err(|reason| KeygenError::Zone {
        zone: zone.to_string(),
        reason,
    })?;
    if origin.to_string().contains('/') {
        return Err(KeygenError::Zone {
            zone: zone.to_string(),
            reason: "a `/` cannot be in a key file name".into(),
        });
    }
    if !dir.is_dir() {
        return Err(KeygenError::NotADirectory(dir.to_path_buf()));
    }
    let flags = if ksk { FLAGS_KSK } else { FLAGS_ZSK };
    for _ in 0..8 {
        let key = Key::generate(algorithm, flags)?;
        let base = base_name(&origin, &key);
        match write_pair(dir, &origin, &key, &base, SystemTime::now()) {
            Ok(()) => return Ok(base),
            Err(KeygenError::Write { error, .. })
                if error.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                continue
            }
            Err(e) => return Err(e),
        }
    }
    Err(KeygenError::Taken(dir.to_path_buf()))
}

/// Writes `dir/base.private` (mode 0600) and `dir/base.key`; neither may exist.
pub fn write_pair(
    dir: &Path,
    origin: &WireName,
    key: &Key,
    base: &str,
    created: SystemTime,
) -> Result<(), KeygenError> {
    let base = dir.join(base);
    let private_path = with_suffix(&base, ".private");
    let key_path = with_suffix(&base, ".key");
    if key_path.exists() {
        return Err(KeygenError::Write {
            path: key_path,
            error: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    create(&private_path, 0o600, &private_file_text(key, created))?;
    if let Err(e) = create(&key_path, 0o644, &key_file_text(origin, key, created)) {
        let _ = std::fs::remove_file(&private_path);
        return Err(e);
    }
    Ok(())
}

fn create(path: &Path, mode: u32, text: &str) -> Result<(), KeygenError> {
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    write().map_err(|error| KeygenError::Write {
        path: path.to_path_buf(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::keyfile::load_pair;
    use std::os::unix::fs::PermissionsExt;

    /// A written pair loads back as the same key, under BIND's file names, with the private
    /// half readable by its owner only; a second write of the same key is refused.
    #[test]
    fn written_pairs_load_back() {
        let dir = tempfile::tempdir().unwrap();
        for (alg, ksk) in [
            (Algorithm::EcdsaP256Sha256, true),
            (Algorithm::Ed25519, false),
        ] {
            let base = keygen("Example.COM", alg, ksk, dir.path()).unwrap();
            let origin = zone_name("example.com.").unwrap();
            let key = load_pair(&dir.path().join(&base), &origin).unwrap();
            assert_eq!(base, base_name(&origin, &key));
            assert!(base.starts_with(&format!("Kexample.com.+{:03}+", alg.number())));
            assert_eq!(key.is_ksk(), ksk);
            assert_eq!(key.algorithm, alg);
            let private = dir.path().join(format!("{base}.private"));
            let mode = std::fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{base}.private");
            let again = write_pair(dir.path(), &origin, &key, &base, SystemTime::now());
            assert!(
                matches!(again, Err(KeygenError::Write { ref error, .. })
                    if error.kind() == std::io::ErrorKind::AlreadyExists),
                "{again:?}"
            );
        }
    }

    #[test]
    fn algorithms_by_number_or_name() {
        assert_eq!("13".parse(), Ok(Algorithm::EcdsaP256Sha256));
        assert_eq!("ecdsap256sha256".parse(), Ok(Algorithm::EcdsaP256Sha256));
        assert_eq!("ED25519".parse(), Ok(Algorithm::Ed25519));
        assert_eq!("15".parse(), Ok(Algorithm::Ed25519));
        assert!("8".parse::<Algorithm>().is_err());
        assert!("RSASHA256".parse::<Algorithm>().is_err());
    }

    #[test]
    fn timestamps_are_bind_s() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_470_343);
        assert_eq!(timestamp(t), "20261205113223");
    }
}
