//! Validation and compilation of `geo/regions.json` (regions, network lists, databases).

use std::path::Path;

use ipnet::IpNet;

use super::problem::{Position, Problem};
use super::raw::{RawRegions, RawRule};
use super::zone::Sink;
use crate::geo::SubdivisionCode;
use crate::geo::{
    AsnDb, CoordinateDb, LocationDb, PrefixTable, Region, RegionMap, Rule, Specificity,
};
use crate::gslb::Needs;

const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];
/// Opens the coordinates of the location database, for records with `nearest`; a database
/// without any (a Country database) is a problem.
pub(crate) fn open_coordinates(map: &mut RegionMap, geo: &Path, problems: &mut Vec<Problem>) {
    let Some(location) = &map.location else {
        return; // reported at the records
    };
    let path = location.info().path.to_owned();
    let mut sink = Sink {
        file: &geo.join("regions.json"),
        problems,
    };
    match CoordinateDb::open(&path) {
        Ok(db) if db.is_empty() => sink.at(
            "databases.location",
            format!(
                "{} has no coordinates (a Country database?); records with `nearest` need a City database",
                path.display()
            ),
        ),
        Ok(db) => map.coordinates = Some(db),
        Err(e) => sink.at("databases.location", e.to_string()),
    }
}

/// Bad lines reported per network list before summarising the rest.
const MAX_LIST_PROBLEMS: usize = 20;

/// Loads `regions.json` from the geo directory. A missing file means no regions (every
/// client is `default`). `None` when there were problems.
pub(crate) fn load(geo: &Path, problems: &mut Vec<Problem>) -> Option<RegionMap> {
    let file = geo.join("regions.json");
    if !file.exists() {
        return Some(RegionMap::default());
    }
    let raw: RawRegions = super::read_json(&file, problems)?;
    let before = problems.len();
    let mut sink = Sink {
        file: &file,
        problems,
    };
    if raw.version != 1 {
        sink.at(
            "version",
            format!("unsupported version {}, expected 1", raw.version),
        );
    }
    let location = raw.databases.location.as_ref().and_then(|p| {
        LocationDb::open(geo.join(p))
            .map_err(|e| sink.at("databases.location", e.to_string()))
            .ok()
    });
    let asn = raw.databases.asn.as_ref().and_then(|p| {
        AsnDb::open(geo.join(p))
            .map_err(|e| sink.at("databases.asn", e.to_string()))
            .ok()
    });
    let mut regions = Vec::new();
    let mut rules = Vec::new();
    let mut prefixes: Vec<(IpNet, u32)> = Vec::new();
    for (ri, (name, raw_rules)) in raw.regions.iter().enumerate() {
        let path = format!("regions.{name}");
        if name == "default" {
            sink.at(
                &path,
                "`default` is implicit and matches every client; it cannot be defined",
            );
            continue;
        }
        if raw_rules.is_empty() {
            sink.at(&path, "a region needs at least one rule");
        }
        let mut region = Region {
            name: name.to_string(),
            rules: Vec::new(),
            needs: Needs::default(),
        };
        for (i, r) in raw_rules.iter().enumerate() {
            let rule_id = rules.len() as u32;
            let rpath = format!("{path}[{i}]");
            let rule = compile_rule(
                r,
                ri as u32,
                i,
                rule_id,
                &rpath,
                geo,
                &mut prefixes,
                &mut sink,
            );
            if !rule.asns.is_empty() || !rule.isps.is_empty() {
                region.needs.asn = true;
                if raw.databases.asn.is_none() {
                    sink.at(&rpath, "`asns`/`isps` need `databases.asn`");
                }
            }
            if !rule.countries.is_empty()
                || !rule.subdivisions.is_empty()
                || !rule.continents.is_empty()
            {
                region.needs.location = true;
                if raw.databases.location.is_none() {
                    sink.at(
                        &rpath,
                        "`countries`/`subdivisions`/`continents` need `databases.location`",
                    );
                }
            }
            region.needs.networks |= rule.networks;
            region.rules.push(rule_id);
            rules.push(rule);
        }
        regions.push(region);
    }
    if problems.len() > before {
        return None;
    }
    Some(RegionMap::new(
        regions,
        rules,
        PrefixTable::new(prefixes),
        location,
        asn,
    ))
}

#[allow(clippy::too_many_arguments)]
fn compile_rule(
    r: &RawRule,
    region: u32,
    index: usize,
    rule_id: u32,
    path: &str,
    geo: &Path,
    prefixes: &mut Vec<(IpNet, u32)>,
    sink: &mut Sink<'_>,
) -> Rule {
    let mut summary = Vec::new();
    let mut rule = Rule {
        region,
        index,
        ..Default::default()
    };
    if let Some(nets) = &r.networks {
        for (i, n) in nets.iter().enumerate() {
            match parse_cidr(n) {
                Ok(net) => prefixes.push((net, rule_id)),
                Err(e) => sink.at(format!("{path}.networks[{i}]"), e),
            }
        }
        rule.networks = true;
        summary.push(format!("networks {}", nets.join(" ")));
    }
    if let Some(f) = &r.networks_file {
        read_network_list(&geo.join(f), rule_id, prefixes, sink.problems);
        rule.networks = true;
        summary.push(format!("networks_file {f}"));
    }
    if let Some(a) = &r.asns {
        rule.asns = a.clone();
        summary.push(format!("asns {a:?}"));
    }
    if let Some(isps) = &r.isps {
        rule.isps = isps.clone();
        summary.push(format!("isps {isps:?}"));
    }
    let code2 = |s: &str, field: &str, i: usize, sink: &mut Sink<'_>| -> Option<[u8; 2]> {
        let b = s.as_bytes();
        if b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic) {
            Some([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
        } else {
            sink.at(
                format!("{path}.{field}[{i}]"),
                format!("`{s}` is not a two-letter code"),
            );
            None
        }
    };
    for (i, c) in r.countries.iter().flatten().enumerate() {
        rule.countries.extend(code2(c, "countries", i, sink));
    }
    for (i, c) in r.continents.iter().flatten().enumerate() {
        if !CONTINENTS.iter().any(|k| k.eq_ignore_ascii_case(c)) {
            sink.at(
                format!("{path}.continents[{i}]"),
                format!("`{c}` is not a continent code (AF AN AS EU NA OC SA)"),
            );
            continue;
        }
        rule.continents.extend(code2(c, "continents", i, sink));
    }
    for (i, s) in r.subdivisions.iter().flatten().enumerate() {
        let parsed = s.split_once('-').and_then(|(cc, sub)| {
            let b = cc.as_bytes();
            (b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic))
                .then(|| [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
                .zip(SubdivisionCode::new(sub))
        });
        match parsed {
            Some(p) => rule.subdivisions.push(p),
            None => sink.at(
                format!("{path}.subdivisions[{i}]"),
                format!("`{s}` is not an ISO 3166-2 code such as `US-CA`"),
            ),
        }
    }
    for (v, name) in [
        (&r.countries, "countries"),
        (&r.subdivisions, "subdivisions"),
        (&r.continents, "continents"),
    ] {
        if let Some(v) = v {
            summary.push(format!("{name} {}", v.join(" ")));
        }
    }
    let isp = !rule.asns.is_empty() || !rule.isps.is_empty();
    rule.specificity = if rule.networks {
        Some(Specificity::Network)
    } else if !rule.subdivisions.is_empty() {
        Some(if isp {
            Specificity::SubdivisionIsp
        } else {
            Specificity::Subdivision
        })
    } else if !rule.countries.is_empty() {
        Some(if isp {
            Specificity::CountryIsp
        } else {
            Specificity::Country
        })
    } else if isp {
        Some(Specificity::Isp)
    } else if !rule.continents.is_empty() {
        Some(Specificity::Continent)
    } else {
        sink.at(path, "a rule needs at least one condition");
        None
    };
    rule.summary = summary.join(" + ");
    rule
}

fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let net: IpNet = match s.parse() {
        Ok(n) => n,
        Err(_) => match s.parse::<std::net::IpAddr>() {
            Ok(a) => IpNet::from(a),
            Err(_) => return Err(format!("`{s}` is not a CIDR prefix")),
        },
    };
    if net.trunc() != net {
        return Err(format!(
            "`{s}` has bits set past the prefix length; did you mean `{}`?",
            net.trunc()
        ));
    }
    Ok(net)
}

/// Reads a network list: one CIDR per line, `#` comments, blank lines ignored.
fn read_network_list(
    file: &Path,
    rule_id: u32,
    prefixes: &mut Vec<(IpNet, u32)>,
    problems: &mut Vec<Problem>,
) {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::in_file(
                file,
                format!("cannot read network list: {e}"),
            ));
            return;
        }
    };
    let mut bad = 0usize;
    for (n, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        match parse_cidr(entry) {
            Ok(net) => prefixes.push((net, rule_id)),
            Err(e) => {
                bad += 1;
                if bad <= MAX_LIST_PROBLEMS {
                    problems.push(Problem {
                        file: file.to_path_buf(),
                        position: Position::LineColumn(n + 1, 1),
                        message: e,
                    });
                }
            }
        }
    }
    if bad > MAX_LIST_PROBLEMS {
        problems.push(Problem::in_file(
            file,
            format!("{} more bad lines not shown", bad - MAX_LIST_PROBLEMS),
        ));
    }
}
