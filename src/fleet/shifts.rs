//! Fleet-wide gradual shifts in the `gslbd_shifts` bucket: the key is the target's address
//! (as drains key it), the value the ramp as JSON `{from, to, start_ms, over_ms, by}`.

use std::net::IpAddr;

use super::settings::Kind;

pub const KIND: Kind<IpAddr> = Kind {
    what: "shift",
    key: |a| super::drains::key(*a),
    parse_key: super::drains::addr,
};
