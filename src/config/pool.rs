//! One pool of a GSLB record checked and compiled: its targets or CNAME, its fallbacks and
//! its coordinates.

use std::net::IpAddr;

use super::gslb::RecordCtx;
use super::raw::{RawPool, RawTarget};
use super::zone::Sink;
use crate::dns::name::WireName;
use crate::dns::query::{TYPE_A, TYPE_AAAA, TYPE_CNAME};
use crate::dns::rdata;
use crate::dns::rr::RrTail;
use crate::geo::Point;
use crate::gslb::{CnamePool, Pool, Target};

pub(super) struct PoolCtx<'a> {
    pub record: &'a RecordCtx<'a>,
    /// Position of the pool in the record.
    pub index: usize,
    pub name: &'a str,
    pub raw: &'a RawPool,
    /// `gslb.web.pools.europe`.
    pub path: &'a str,
    pub ttl: u32,
    /// The record's `check`, for targets without their own.
    pub record_check: Option<&'a str>,
}

impl PoolCtx<'_> {
    /// The compiled pool; problems go to `sink` (the pool is then incomplete and the
    /// record is dropped by the caller).
    pub(super) fn compile(
        &self,
        sink: &mut Sink<'_>,
        probe: &mut dyn FnMut(IpAddr, &str) -> usize,
    ) -> Pool {
        let (raw, ppath) = (self.raw, self.path);
        let cname = raw.cname.as_ref().and_then(|c| self.cname(c, sink));
        match (&raw.cname, raw.targets.is_empty()) {
            (Some(_), false) => {
                sink.at(ppath, "a pool has either `targets` or a `cname`, not both")
            }
            (None, true) => sink.at(
                format!("{ppath}.targets"),
                "a pool needs at least one target (or a `cname`)",
            ),
            _ => {}
        }
        let coordinates = raw.coordinates.and_then(|[lat, lon]| {
            let p = Point::new(lat, lon);
            if p.is_none() {
                sink.at(
                    format!("{ppath}.coordinates"),
                    format!(
                        "[{lat}, {lon}] is not [latitude -90..90, longitude -180..180] in degrees"
                    ),
                );
            }
            p
        });
        let mut pool = Pool::new(
            self.name.to_string(),
            self.targets(sink, probe),
            self.fallback(sink),
        );
        pool.cname = cname;
        pool.coordinates = coordinates;
        pool
    }

    fn cname(&self, text: &str, sink: &mut Sink<'_>) -> Option<CnamePool> {
        match WireName::parse(text, Some(self.record.zone)) {
            Ok(target) => Some(CnamePool {
                tail: RrTail::new(TYPE_CNAME, self.ttl, &rdata::name(&target)),
                target,
            }),
            Err(e) => {
                sink.at(format!("{}.cname", self.path), e);
                None
            }
        }
    }

    fn fallback(&self, sink: &mut Sink<'_>) -> Vec<usize> {
        let pools = &self.record.raw.pools;
        let mut fallback = Vec::new();
        for (fi, f) in self.raw.fallback.iter().enumerate() {
            let fpath = format!("{}.fallback[{fi}]", self.path);
            match pools.0.iter().position(|(k, _)| k == f) {
                Some(i) if i == self.index => sink.at(fpath, "a pool cannot fall back to itself"),
                Some(i) => fallback.push(i),
                None => sink.at(fpath, format!("`{f}` is not a pool of this record")),
            }
        }
        fallback
    }

    fn targets(
        &self,
        sink: &mut Sink<'_>,
        probe: &mut dyn FnMut(IpAddr, &str) -> usize,
    ) -> Vec<Target> {
        let mut targets = Vec::new();
        for (ti, t) in self.raw.targets.iter().enumerate() {
            let tpath = format!("{}.targets[{ti}]", self.path);
            let (address, weight, check) = match t {
                RawTarget::Address(a) => (a, None, None),
                RawTarget::Full(f) => (&f.address, f.weight, f.check.as_deref()),
            };
            let Ok(addr) = address.parse::<IpAddr>() else {
                sink.at(tpath, format!("`{address}` is not an IP address"));
                continue;
            };
            if targets.iter().any(|t: &Target| t.addr == addr) {
                sink.at(&tpath, format!("{addr} is listed twice in this pool"));
            }
            if weight == Some(0) {
                sink.at(format!("{tpath}.weight"), "weight must be at least 1");
            }
            let check = match check {
                Some(c)
                    if self
                        .record
                        .check_ok(Some(c), format!("{tpath}.check"), sink) =>
                {
                    Some(c)
                }
                Some(_) => None,
                None => self.record_check,
            };
            let tail = match addr {
                IpAddr::V4(a) => RrTail::new(TYPE_A, self.ttl, &rdata::a(a)),
                IpAddr::V6(a) => RrTail::new(TYPE_AAAA, self.ttl, &rdata::aaaa(a)),
            };
            targets.push(Target {
                addr,
                weight: weight.unwrap_or(1),
                probe: check.map(|c| probe(addr, c)),
                tail,
            });
        }
        targets
    }
}
