//! Configuration loading: raw JSON → validation (every problem, with file and position) →
//! an immutable `Snapshot`.

mod cname;
mod cname_pool;
mod cuts;
mod dnssec;
mod gslb;
mod pool;
mod problem;
mod raw;
mod raw_regions;
mod records;
mod regions;
pub mod schema;
#[cfg(test)]
pub mod testing;
mod unique_map;
mod zone;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub use dnssec::ds_records;
pub use problem::{Position, Problem, Problems};
pub use raw::CheckKind;
pub(crate) use records::STATIC_TYPES;

use crate::snapshot::Snapshot;
use zone::Sink;

/// Where the configuration lives.
#[derive(Debug, Clone)]
pub struct Paths {
    pub zones: PathBuf,
    pub geo: PathBuf,
}

/// Loads, validates and compiles the whole configuration. Either every file is good and a
/// snapshot comes back, or every problem found does.
pub fn load(paths: &Paths) -> Result<Snapshot, Problems> {
    let mut problems = Vec::new();
    let mut regions = regions::load(&paths.geo, &mut problems);
    let mut drafts = Vec::new();
    let mut raws = Vec::new();
    for file in zone_files(&paths.zones, &mut problems) {
        if let Some(raw) = read_json::<raw::RawZone>(&file, &mut problems) {
            let mut sink = Sink {
                file: &file,
                problems: &mut problems,
            };
            if let Some(draft) = zone::compile_zone(&raw, &mut sink) {
                drafts.push(draft);
                raws.push((file.clone(), raw));
            }
        }
    }
    for i in 0..drafts.len() {
        for j in 0..i {
            if drafts[i].zone.origin == drafts[j].zone.origin {
                problems.push(Problem::at_path(
                    &drafts[i].zone.file,
                    "origin",
                    format!(
                        "duplicate zone `{}`, also defined in {}",
                        drafts[i].zone.origin,
                        drafts[j].zone.file.display()
                    ),
                ));
            }
        }
    }
    cuts::check_children(&drafts, &mut problems);
    let gslb = match &regions {
        Some(r) => {
            let file = paths.geo.join("regions.json");
            let missing = (!file.exists()).then_some(file.as_path());
            gslb::compile(&mut drafts, &raws, r, missing, &mut problems)
        }
        None => Default::default(),
    };
    if let Some(r) = &mut regions {
        if gslb.records.iter().any(|r| !r.nearest.is_empty()) {
            regions::open_coordinates(r, &paths.geo, &mut problems);
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let geo = regions.unwrap_or_default();
    Ok(Snapshot::new(
        drafts.into_iter().map(|d| d.zone).collect(),
        gslb,
        geo,
    ))
}

/// Every `*.json` directly in the zones directory, skipping hidden names, sorted.
fn zone_files(dir: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Problem::in_file(
                dir,
                format!("cannot read zones directory: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            !name.starts_with('.') && name.ends_with(".json") && p.is_file()
        })
        .collect();
    files.sort();
    files
}

/// Reads and deserialises one JSON file, reporting syntax and type errors with line, column
/// and JSON path.
pub(crate) fn read_json<T: DeserializeOwned>(
    file: &Path,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::in_file(file, format!("cannot read: {e}")));
            return None;
        }
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let result = result.map_err(|e| (e.path().to_string(), e.into_inner()));
    match result.and_then(|v| de.end().map(|()| v).map_err(|e| (String::new(), e))) {
        Ok(v) => Some(v),
        Err((path, e)) => {
            problems.push(Problem::from_json(file, &path, &e));
            None
        }
    }
}
