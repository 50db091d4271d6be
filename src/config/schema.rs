//! JSON Schemas (draft 2020-12) of the configuration files, derived from the raw types the
//! loader reads so that they cannot drift from it: `gslbd schema zone|regions`.

pub(super) mod shapes;

use schemars::generate::SchemaSettings;
use schemars::transform::transform_subschemas;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

use super::raw::{RawRegions, RawZone};

/// A configuration file that has a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaFile {
    /// `zones/<origin>.json`.
    Zone,
    /// `geo/regions.json`.
    Regions,
}

impl SchemaFile {
    /// Every file with a schema.
    pub const ALL: [SchemaFile; 2] = [SchemaFile::Zone, SchemaFile::Regions];

    /// The name on the command line (`gslbd schema zone`).
    pub fn name(self) -> &'static str {
        match self {
            SchemaFile::Zone => "zone",
            SchemaFile::Regions => "regions",
        }
    }

    /// The schema as a JSON value.
    pub fn schema(self) -> serde_json::Value {
        match self {
            SchemaFile::Zone => root::<RawZone>(),
            SchemaFile::Regions => root::<RawRegions>(),
        }
    }

    /// The schema as `gslbd schema` prints it: pretty JSON and a final newline.
    pub fn text(self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.schema()).expect("a JSON value always serialises");
        text.push('\n');
        text
    }
}

impl std::str::FromStr for SchemaFile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        SchemaFile::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a configuration file with a schema (zone, regions)")
            })
    }
}

fn root<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .with_transform(integer_ranges)
        .with_transform(descriptions)
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// Drops the derive's number formats (`uint32`, `double`, ...), which are not JSON Schema
/// formats and which editors ignore, stating instead the largest integer they allow.
fn integer_ranges(schema: &mut Schema) {
    if schema.get("format").and_then(Value::as_str) == Some("double") {
        schema.remove("format");
    }
    let max = match schema.get("format").and_then(Value::as_str) {
        Some("uint8") => Some(u64::from(u8::MAX)),
        Some("uint16") => Some(u64::from(u16::MAX)),
        Some("uint32") => Some(u64::from(u32::MAX)),
        _ => None,
    };
    if let Some(max) = max {
        schema.remove("format");
        if schema.get("maximum").is_none() {
            schema.insert("maximum".into(), max.into());
        }
    }
    transform_subschemas(&mut integer_ranges, schema);
}

/// Joins the lines of each description (doc comments wrap at 100 columns) and gives editors
/// that render Markdown (VS Code) the same text as `markdownDescription`, so that the
/// backquoted keys and values show as code.
fn descriptions(schema: &mut Schema) {
    if let Some(text) = schema.get("description").and_then(Value::as_str) {
        let text = text
            .split("\n\n")
            .map(|paragraph| paragraph.replace('\n', " "))
            .collect::<Vec<_>>()
            .join("\n\n");
        schema.insert("description".into(), text.clone().into());
        schema.insert("markdownDescription".into(), text.into());
    }
    transform_subschemas(&mut descriptions, schema);
}
