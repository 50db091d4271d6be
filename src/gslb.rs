//! Compiled GSLB records: pools of targets per region, policies, fail-over order.

use serde::Deserialize;

/// How the healthy targets of a pool are ordered in an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    #[default]
    RoundRobin,
    Weighted,
    Sticky,
    First,
    All,
}

/// What to answer when no pool has a healthy target of the queried family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllDown {
    #[default]
    ServeAll,
    Nodata,
}

/// Every GSLB record of a snapshot.
#[derive(Debug, Default)]
pub struct GslbSet {
    pub records: Vec<GslbRecord>,
}

#[derive(Debug)]
pub struct GslbRecord {}
