//! One DNSSEC signing key: algorithm 13 (ECDSA P-256 with SHA-256) or 15 (Ed25519), its
//! DNSKEY RDATA and key tag, and signing with ring.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

/// Flags of a zone key (RFC 4034 §2.1.1): 256 a ZSK, 257 (SEP set) a KSK or CSK.
pub const FLAGS_ZSK: u16 = 256;
pub const FLAGS_KSK: u16 = 257;

/// Bytes of a signature of either algorithm: r‖s for P-256 (RFC 6605), R‖S for Ed25519.
pub const SIGNATURE_LEN: usize = 64;

/// The signing algorithms gslbd supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// 13: ECDSAP256SHA256 (RFC 6605), the default.
    EcdsaP256Sha256,
    /// 15: ED25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The algorithm of DNSSEC number `n`, when supported.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            13 => Some(Algorithm::EcdsaP256Sha256),
            15 => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The mnemonic BIND writes after the number (`Algorithm: 13 (ECDSAP256SHA256)`).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }

    /// Bytes of the public key field of the DNSKEY RDATA.
    pub fn public_len(self) -> usize {
        match self {
            Algorithm::EcdsaP256Sha256 => 64,
            Algorithm::Ed25519 => 32,
        }
    }
}

/// Why key material cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("algorithm {0} is not supported (use 13, ECDSAP256SHA256, or 15, ED25519)")]
    UnsupportedAlgorithm(u8),
    #[error("the public key has {got} bytes; algorithm {algorithm} needs {want}")]
    PublicLength {
        algorithm: u8,
        got: usize,
        want: usize,
    },
    #[error("the private key has {got} bytes; algorithm {algorithm} needs 32")]
    PrivateLength { algorithm: u8, got: usize },
    #[error("the private key does not match the public key")]
    Mismatch,
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key that signs: the DNSKEY it publishes and the private half.
pub struct Key {
    pub flags: u16,
    pub algorithm: Algorithm,
    /// The key tag (RFC 4034 Appendix B) of its DNSKEY RDATA.
    pub tag: u16,
    /// The DNSKEY RDATA: flags, protocol 3, algorithm, public key.
    pub dnskey: Vec<u8>,
    /// A fingerprint of the DNSKEY (its SHA-256, first 8 bytes): tells keys apart in the
    /// signature cache, where tags may collide.
    pub id: u64,
    /// The private key as BIND stores it (the P-256 scalar or the Ed25519 seed).
    private: Vec<u8>,
    pair: Pair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("flags", &self.flags)
            .field("algorithm", &self.algorithm.number())
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A key from its parts as BIND key files hold them: the DNSKEY public key field and
    /// the private key. Fails when they do not belong together.
    pub fn from_parts(
        flags: u16,
        algorithm: u8,
        public: &[u8],
        private: &[u8],
    ) -> Result<Key, KeyError> {
        let alg =
            Algorithm::from_number(algorithm).ok_or(KeyError::UnsupportedAlgorithm(algorithm))?;
        if public.len() != alg.public_len() {
            return Err(KeyError::PublicLength {
                algorithm,
                got: public.len(),
                want: alg.public_len(),
            });
        }
        if private.len() != 32 {
            return Err(KeyError::PrivateLength {
                algorithm,
                got: private.len(),
            });
        }
        let rng = SystemRandom::new();
        let pair = match alg {
            Algorithm::EcdsaP256Sha256 => {
                // ring wants the uncompressed SEC1 point: 0x04 ‖ x ‖ y.
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(public);
                Pair::Ecdsa(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        private,
                        &point,
                        &rng,
                    )
                    .map_err(|_| KeyError::Mismatch)?,
                )
            }
            Algorithm::Ed25519 => Pair::Ed25519(
                Ed25519KeyPair::from_seed_and_public_key(private, public)
                    .map_err(|_| KeyError::Mismatch)?,
            ),
        };
        let mut dnskey = Vec::with_capacity(4 + public.len());
        dnskey.extend_from_slice(&flags.to_be_bytes());
        dnskey.push(3);
        dnskey.push(algorithm);
        dnskey.extend_from_slice(public);
        let digest = ring::digest::digest(&ring::digest::SHA256, &dnskey);
        let id = u64::from_be_bytes(digest.as_ref()[..8].try_into().expect("8 bytes"));
        Ok(Key {
            flags,
            algorithm: alg,
            tag: key_tag(&dnskey),
            id,
            dnskey,
            private: private.to_vec(),
            pair,
            rng,
        })
    }

    /// A new random key.
    pub fn generate(algorithm: Algorithm, flags: u16) -> Result<Key, KeyError> {
        let rng = SystemRandom::new();
        let (private, public) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let doc =
                    EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                        .map_err(|e| KeyError::Generate(e.to_string()))?;
                let pair = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    doc.as_ref(),
                    &rng,
                )
                .map_err(|e| KeyError::Generate(e.to_string()))?;
                // RFC 5915 ECPrivateKey inside PKCS#8: version 1, then the 32-byte scalar.
                let private = after(doc.as_ref(), &[0x02, 0x01, 0x01, 0x04, 0x20], 32)
                    .ok_or_else(|| KeyError::Generate("unexpected PKCS#8 layout".into()))?;
                (private.to_vec(), pair.public_key().as_ref()[1..].to_vec())
            }
            Algorithm::Ed25519 => {
                let doc = Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|e| KeyError::Generate(e.to_string()))?;
                let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref())
                    .map_err(|e| KeyError::Generate(e.to_string()))?;
                // RFC 8410 CurvePrivateKey: an OCTET STRING of the 32-byte seed, wrapped.
                let seed = after(doc.as_ref(), &[0x04, 0x22, 0x04, 0x20], 32)
                    .ok_or_else(|| KeyError::Generate("unexpected PKCS#8 layout".into()))?;
                (seed.to_vec(), pair.public_key().as_ref().to_vec())
            }
        };
        // Rebuilding from the parts proves they were read out right.
        Key::from_parts(flags, algorithm.number(), &public, &private)
    }

    /// A key signing key (SEP flag set): signs the DNSKEY, CDS and CDNSKEY RRsets, and
    /// everything when the zone has no ZSK (a CSK).
    pub fn is_ksk(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The public key field of the DNSKEY RDATA.
    pub fn public_key(&self) -> &[u8] {
        &self.dnskey[4..]
    }

    /// The private key as BIND's `PrivateKey:` line holds it.
    pub fn private_key(&self) -> &[u8] {
        &self.private
    }

    /// Signs `data` (RFC 4034 §3.1.8.1: the RRSIG RDATA without its signature, then the
    /// RRset in canonical form).
    pub fn sign(&self, data: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        match &self.pair {
            Pair::Ecdsa(p) => {
                // Fails only when the system random source does; ring's own getrandom.
                let sig = p
                    .sign(&self.rng, data)
                    .expect("system random source failed");
                out.copy_from_slice(sig.as_ref());
            }
            Pair::Ed25519(p) => out.copy_from_slice(p.sign(data).as_ref()),
        }
        out
    }
}

/// The `len` bytes that follow the first occurrence of `pattern` in `doc`.
fn after<'d>(doc: &'d [u8], pattern: &[u8], len: usize) -> Option<&'d [u8]> {
    let at = doc.windows(pattern.len()).position(|w| w == pattern)? + pattern.len();
    doc.get(at..at + len)
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not supported).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            b as u32
        } else {
            (b as u32) << 8
        };
    }
    ac += (ac >> 16) & 0xffff;
    (ac & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::UnparsedPublicKey;

    fn verifies(key: &Key, data: &[u8], sig: &[u8]) -> bool {
        let (alg, public): (&dyn signature::VerificationAlgorithm, Vec<u8>) = match key.algorithm {
            Algorithm::EcdsaP256Sha256 => (
                &signature::ECDSA_P256_SHA256_FIXED,
                [&[4u8][..], key.public_key()].concat(),
            ),
            Algorithm::Ed25519 => (&signature::ED25519, key.public_key().to_vec()),
        };
        UnparsedPublicKey::new(alg, public)
            .verify(data, sig)
            .is_ok()
    }

    /// Generated keys of both algorithms sign what their public key verifies, survive the
    /// round trip through their stored parts, and a foreign public key is refused.
    #[test]
    fn generated_keys_sign_and_round_trip() {
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = Key::generate(alg, FLAGS_KSK).unwrap();
            assert!(key.is_ksk());
            assert_eq!(key.public_key().len(), alg.public_len());
            let sig = key.sign(b"data");
            assert!(verifies(&key, b"data", &sig), "{alg:?}");
            assert!(!verifies(&key, b"other", &sig), "{alg:?}");
            let again =
                Key::from_parts(FLAGS_ZSK, alg.number(), key.public_key(), key.private_key())
                    .unwrap();
            assert!(!again.is_ksk());
            assert!(verifies(&key, b"x", &again.sign(b"x")));
            let other = Key::generate(alg, FLAGS_ZSK).unwrap();
            assert_eq!(
                Key::from_parts(
                    FLAGS_ZSK,
                    alg.number(),
                    other.public_key(),
                    key.private_key()
                )
                .unwrap_err(),
                KeyError::Mismatch
            );
        }
        assert_eq!(
            Key::from_parts(256, 8, &[0; 64], &[0; 32]).unwrap_err(),
            KeyError::UnsupportedAlgorithm(8)
        );
    }

    /// Appendix B's sum on hand-summed RDATA (tags of real keys are checked against
    /// `dnssec-keygen` in the key file tests).
    #[test]
    fn key_tag_sums_as_appendix_b() {
        // 0x0101 + 0x0302 + 0x0304 = 0x0707; no carry.
        assert_eq!(key_tag(&[1, 1, 3, 2, 3, 4]), 0x0707);
        // Odd length: the last byte counts as a high byte; the carry (2) folds in.
        // 0xff00 + 0xff + 0xff00 + 0xff + 0x0100 = 0x200fe; + 2 = 0x20100.
        assert_eq!(key_tag(&[0xff, 0xff, 0xff, 0xff, 0x01]), 0x0100);
    }
}
