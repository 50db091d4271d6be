//! The `dnssec` section of a zone: its key pairs, read from the zones directory on every load
//! and checked as a set, and the apex RRsets they make (DNSKEY; CDS and CDNSKEY of the KSKs).

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::problem::{Problem, Problems};
use super::raw::{RawDnssec, RawZone};
use super::zone::Sink;
use crate::dns::name::WireName;
use crate::dns::rr::RrTail;
use crate::dnssec::keyfile::load_pair;
use crate::dnssec::{ds, Key, ZoneKeys, TYPE_CDNSKEY, TYPE_CDS, TYPE_DNSKEY};
use crate::snapshot::Rrset;

/// Loads the keys `raw` lists for zone `origin`, from the directory of the zone's file.
/// Every problem goes to `sink` at `dnssec.keys[i]`, naming the key file; `None` when any.
pub(crate) fn compile_keys(
    raw: &RawDnssec,
    origin: &WireName,
    sink: &mut Sink<'_>,
) -> Option<ZoneKeys> {
    let dir = sink
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if raw.keys.is_empty() {
        sink.at(
            "dnssec.keys",
            "no keys: list the zone's key files (see `gslbd dnssec keygen`), or remove \
             `dnssec` to serve the zone unsigned",
        );
        return None;
    }
    let mut keys: Vec<Arc<Key>> = Vec::new();
    let mut index_of: FxHashMap<Vec<u8>, usize> = FxHashMap::default();
    let mut failed = false;
    for (i, name) in raw.keys.iter().enumerate() {
        let path = format!("dnssec.keys[{i}]");
        if let Some(stem) = name
            .strip_suffix(".key")
            .or_else(|| name.strip_suffix(".private"))
        {
            sink.at(
                &path,
                format!("`{name}`: list the base name, `{stem}`, without `.key` or `.private`"),
            );
            failed = true;
            continue;
        }
        if name.is_empty() {
            sink.at(&path, "an empty key name");
            failed = true;
            continue;
        }
        match load_pair(&dir.join(name), origin) {
            Ok(key) => {
                if let Some(j) = index_of.insert(key.dnskey.clone(), i) {
                    sink.at(
                        &path,
                        format!("`{name}` is the key of dnssec.keys[{j}] again"),
                    );
                    failed = true;
                    continue;
                }
                keys.push(Arc::new(key));
            }
            Err(e) => {
                sink.at(&path, e.to_string());
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    let before = sink.problems.len();
    check_roles(&keys, sink);
    (sink.problems.len() == before).then_some(ZoneKeys { keys })
}

/// Every algorithm of the DNSKEY RRset must sign the DNSKEY RRset (so has a KSK) and, when
/// the zone has ZSKs, every other RRset (so has a ZSK): RFC 4035 §2.2 and RFC 6840 §5.11.
fn check_roles(keys: &[Arc<Key>], sink: &mut Sink<'_>) {
    if !keys.iter().any(|k| k.is_ksk()) {
        sink.at(
            "dnssec.keys",
            "no KSK (flags 257): nothing would sign the DNSKEY RRset; add one (`gslbd dnssec \
             keygen ZONE --ksk`), which alone also signs everything else",
        );
        return;
    }
    let any_zsk = keys.iter().any(|k| !k.is_ksk());
    let mut algorithms: Vec<u8> = keys.iter().map(|k| k.algorithm.number()).collect();
    algorithms.sort_unstable();
    algorithms.dedup();
    for alg in algorithms {
        let of_alg = || keys.iter().filter(move |k| k.algorithm.number() == alg);
        if !of_alg().any(|k| k.is_ksk()) {
            sink.at(
                "dnssec.keys",
                format!(
                    "no KSK of algorithm {alg}: the DNSKEY RRset must be signed with every \
                     algorithm it holds (RFC 4035 §2.2)"
                ),
            );
        }
        if any_zsk && !of_alg().any(|k| !k.is_ksk()) {
            sink.at(
                "dnssec.keys",
                format!(
                    "no ZSK of algorithm {alg} while the zone has ZSKs: every RRset must be \
                     signed with every algorithm of the DNSKEY RRset (RFC 4035 §2.2)"
                ),
            );
        }
    }
}

/// The apex RRsets of a signed zone: DNSKEY (every key, in the listed order), then CDS
/// (digest type 2) and CDNSKEY of the KSKs (RFC 7344), all with `ttl`.
pub(crate) fn apex_rrsets(keys: &ZoneKeys, origin: &WireName, ttl: u32) -> Vec<Rrset> {
    let ksks = || keys.keys.iter().filter(|k| k.is_ksk());
    let set = |rtype, rdatas: Vec<Vec<u8>>| {
        Rrset::new(
            rtype,
            rdatas.iter().map(|r| RrTail::new(rtype, ttl, r)).collect(),
        )
    };
    vec![
        set(
            TYPE_DNSKEY,
            keys.keys.iter().map(|k| k.dnskey.clone()).collect(),
        ),
        set(
            TYPE_CDS,
            ksks()
                .map(|k| ds::rdata(origin.as_bytes(), &k.dnskey))
                .collect(),
        ),
        set(TYPE_CDNSKEY, ksks().map(|k| k.dnskey.clone()).collect()),
    ]
}

/// `gslbd dnssec ds ZONE`: the DS records of the zone's KSKs, as the parent publishes them
/// (`example.com. IN DS 12345 13 2 HEX`), from the zone's JSON in `zones` and its key files.
pub fn ds_records(zones: &Path, zone: &str) -> Result<Vec<String>, Problems> {
    let origin = crate::dnssec::keygen::zone_name(zone)
        .map_err(|e| Problems(vec![Problem::in_file(zones, format!("zone `{zone}`: {e}"))]))?;
    let file = zones.join(format!("{}.json", origin.to_string().trim_end_matches('.')));
    if !file.exists() {
        return Err(Problems(vec![Problem::in_file(
            &file,
            format!("no zone `{origin}` here: the zone file does not exist (is --zones right?)"),
        )]));
    }
    let mut problems = Vec::new();
    let Some(raw) = super::read_json::<RawZone>(&file, &mut problems) else {
        return Err(Problems(problems));
    };
    if WireName::parse(&raw.origin, None).ok().as_ref() != Some(&origin) {
        problems.push(Problem::at_path(
            &file,
            "origin",
            format!("`{}` is not the zone `{origin}`", raw.origin),
        ));
        return Err(Problems(problems));
    }
    let Some(dnssec) = &raw.dnssec else {
        problems.push(Problem::in_file(
            &file,
            "the zone is not signed: it has no `dnssec` section listing its keys",
        ));
        return Err(Problems(problems));
    };
    let mut sink = Sink {
        file: &file,
        problems: &mut problems,
    };
    let Some(keys) = compile_keys(dnssec, &origin, &mut sink) else {
        return Err(Problems(problems));
    };
    Ok(keys
        .keys
        .iter()
        .filter(|k| k.is_ksk())
        .map(|k| {
            let rdata = ds::rdata(origin.as_bytes(), &k.dnskey);
            format!("{origin} IN DS {}", ds::ds_text(&rdata))
        })
        .collect())
}

#[cfg(test)]
mod tests;
