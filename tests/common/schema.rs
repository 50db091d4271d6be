//! The configuration files' JSON Schemas (`gslbd schema zone|regions`), checked with an
//! independent validator (the `jsonschema` crate, formats such as `ipv4` enforced).
//!
//! Every configuration the tests run the real binary on is checked against them: when
//! `gslbd check` exits 0 on it ([`super::check`]), when `gslbd serve` starts on it
//! ([`super::Server::start`]), and when a server stops after its files changed while the
//! loader still accepts them ([`super::Server::stop`], which covers hot reloads). Hooking the
//! places where the binary *accepts* a configuration, rather than the many ways tests write
//! files (helpers, `std::fs::write`, imports, ConfigMap layouts), means no test configuration
//! can slip past, and none that a test breaks on purpose is asserted on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gslbd::config::schema::SchemaFile;
use gslbd::config::Paths;
use serde_json::Value;

/// The compiled schema of `file`.
pub fn validator(file: SchemaFile) -> &'static jsonschema::Validator {
    static ZONE: OnceLock<jsonschema::Validator> = OnceLock::new();
    static REGIONS: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = match file {
        SchemaFile::Zone => &ZONE,
        SchemaFile::Regions => &REGIONS,
    };
    cell.get_or_init(|| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&file.schema())
            .unwrap_or_else(|e| panic!("the {} schema must compile: {e}", file.name()))
    })
}

/// What the schema of `file` finds wrong in `doc`, one `/json/pointer: message` each; empty
/// when `doc` is valid.
pub fn errors(file: SchemaFile, doc: &Value) -> Vec<String> {
    validator(file)
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Panics with every schema error when `doc` (named `what`) does not validate.
pub fn assert_valid(file: SchemaFile, doc: &Value, what: &str) {
    let errors = errors(file, doc);
    assert!(
        errors.is_empty(),
        "{what} is a valid configuration but does not match `gslbd schema {}`:\n{}",
        file.name(),
        errors.join("\n")
    );
}

/// The files the loader reads from a zones and a geo directory, with their text: every
/// `*.json` directly in `zones` whose name does not start with `.`, and `geo/regions.json`.
pub fn config_files(zones: &Path, geo: &Path) -> BTreeMap<PathBuf, (SchemaFile, String)> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(zones).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".json") || !path.is_file() {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            files.insert(path, (SchemaFile::Zone, text));
        }
    }
    let regions = geo.join("regions.json");
    if let Ok(text) = std::fs::read_to_string(&regions) {
        files.insert(regions, (SchemaFile::Regions, text));
    }
    files
}

/// Asserts that the files of a configuration the binary accepted validate against the
/// schemas.
pub fn assert_files_valid(files: &BTreeMap<PathBuf, (SchemaFile, String)>) {
    for (path, (file, text)) in files {
        let doc: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{} was accepted but is not JSON: {e}", path.display()));
        assert_valid(*file, &doc, &path.display().to_string());
    }
}

/// Reads the configuration in `zones` and `geo` (which the binary has just accepted) and
/// asserts that it validates; returns the files, for [`assert_valid_if_changed_and_accepted`].
pub fn assert_accepted(zones: &Path, geo: &Path) -> BTreeMap<PathBuf, (SchemaFile, String)> {
    let files = config_files(zones, geo);
    assert_files_valid(&files);
    files
}

/// When the configuration differs from `before` and the loader (the library `gslbd check`
/// runs) accepts it, asserts that it validates. A configuration left broken, or removed,
/// is not asserted on.
pub fn assert_valid_if_changed_and_accepted(
    zones: &Path,
    geo: &Path,
    before: &BTreeMap<PathBuf, (SchemaFile, String)>,
) {
    let files = config_files(zones, geo);
    if files == *before {
        return;
    }
    let paths = Paths {
        zones: zones.to_path_buf(),
        geo: geo.to_path_buf(),
    };
    if gslbd::config::load(&paths).is_ok() {
        assert_files_valid(&files);
    }
}
