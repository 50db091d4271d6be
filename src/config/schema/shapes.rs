//! Schema shapes the derive cannot express from the Rust types alone: address formats,
//! durations, coordinates, and maps whose keys are constrained. Each states only what the
//! loader's validation also refuses, so a file the schema rejects is one `check` rejects.

use schemars::{json_schema, Schema, SchemaGenerator};

use crate::config::raw::{RawPool, RawRule};
use crate::config::STATIC_TYPES;

/// An IPv4 prefix (`10.0.0.0/8`) or IPv6 prefix (`fd00::/8`), or a bare address. The
/// address part is only roughly checked here (the loader also refuses bits set past the
/// prefix length); the lengths are the ones the parser takes (at most 32 in two digits,
/// at most 128 in three).
pub const CIDR: &str = r"^([0-9]{1,3}(\.[0-9]{1,3}){3}(/(3[0-2]|[0-2]?[0-9]))?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(/(12[0-8]|1[01][0-9]|0?[0-9]?[0-9]))?)$";

/// A continent code, in any case as the loader takes it.
pub const CONTINENT: &str = r"^([Aa][FfNnSs]|[Ee][Uu]|[Nn][Aa]|[Oo][Cc]|[Ss][Aa])$";

/// An IPv4 or IPv6 address.
pub fn ip_address(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "anyOf": [ { "format": "ipv4" }, { "format": "ipv6" } ],
        "examples": ["192.0.2.10", "2001:db8::10"],
    })
}

/// The items of `[latitude, longitude]`, in degrees.
pub fn latitude_longitude() -> serde_json::Value {
    serde_json::json!([
        { "description": "Latitude in degrees.", "type": "number", "minimum": -90, "maximum": 90 },
        { "description": "Longitude in degrees.", "type": "number", "minimum": -180, "maximum": 180 },
    ])
}

/// The record types a name's `ttls` may name.
pub fn record_types() -> serde_json::Value {
    let types: Vec<&str> = STATIC_TYPES.iter().map(|(k, _)| *k).collect();
    serde_json::json!({ "enum": types })
}

/// The pools of a GSLB record by name; `default` is required.
pub fn pools(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": generator.subschema_for::<RawPool>(),
        "required": ["default"],
    })
}

/// The regions by name, each a non-empty list of rules; `default` cannot be defined.
pub fn regions(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": { "not": { "const": "default" } },
        "additionalProperties": {
            "type": "array",
            "items": generator.subschema_for::<RawRule>(),
            "minItems": 1,
        },
    })
}
