//! What the query path counts into: one thread's cells (`QueryCells`), written only by
//! that thread, and what one answered query reports (`Outcome`); the label sets they are
//! indexed by.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::dns::edns::CookieVerdict;
use crate::geo::Specificity;

/// Zones and pool names beyond these share the slot labelled `other`.
pub const MAX_ZONES: usize = 64;
pub const MAX_POOLS: usize = 128;

pub(super) const QTYPES: [(u16, &str); 12] = [
    (0, "other"),
    (1, "A"),
    (28, "AAAA"),
    (255, "ANY"),
    (5, "CNAME"),
    (15, "MX"),
    (2, "NS"),
    (6, "SOA"),
    (16, "TXT"),
    (33, "SRV"),
    (257, "CAA"),
    (12, "PTR"),
];
pub(super) const RCODES: [(u16, &str); 7] = [
    (0, "NOERROR"),
    (1, "FORMERR"),
    (2, "SERVFAIL"),
    (3, "NXDOMAIN"),
    (4, "NOTIMP"),
    (5, "REFUSED"),
    (16, "BADVERS"),
];
/// The `result` label of `gslbd_cookies_total`, in the order of `QueryCells::cookies`.
pub(super) const COOKIE_RESULTS: [&str; 3] = ["new", "valid", "invalid"];
pub(super) const DECIDERS: [Specificity; 9] = [
    Specificity::Network,
    Specificity::SubdivisionIsp,
    Specificity::Subdivision,
    Specificity::CountryIsp,
    Specificity::Isp,
    Specificity::Country,
    Specificity::Continent,
    Specificity::Nearest,
    Specificity::Default,
];
/// How the queries a set of cells counts arrived: the `transport` label of
/// `gslbd_queries_by_transport_total`. Fixed when the cells are registered, so that the
/// query path pays nothing for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Udp,
    Tcp,
    Tls,
    Quic,
    Xdp,
}

impl Via {
    pub const ALL: [Via; 5] = [Via::Udp, Via::Tcp, Via::Tls, Via::Quic, Via::Xdp];

    pub fn as_str(self) -> &'static str {
        match self {
            Via::Udp => "udp",
            Via::Tcp => "tcp",
            Via::Tls => "tls",
            Via::Quic => "quic",
            Via::Xdp => "xdp",
        }
    }
}

/// Latency histogram bucket bounds, seconds.
pub(super) const BUCKETS: [f64; 12] = [
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1, 1.0,
];

fn qtype_index(qtype: u16) -> usize {
    QTYPES.iter().position(|&(t, _)| t == qtype).unwrap_or(0)
}

fn rcode_index(rcode: u16) -> usize {
    RCODES.iter().position(|&(c, _)| c == rcode).unwrap_or(2)
}

/// What the metrics need to know about one answered query.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    /// `Zone::metrics_slot`, or 0 when the name is in none of our zones.
    pub zone_slot: u16,
    pub qtype: u16,
    pub rcode: u16,
    pub truncated: bool,
    pub ecs: bool,
    /// `Pool::metrics_slot` and the kind of rule that decided, for GSLB answers.
    pub gslb: Option<(u16, Specificity)>,
    /// A GSLB answer was a CNAME pool's alias.
    pub cname: bool,
    /// The answer was synthesised from a wildcard (response rate limiting counts those per
    /// zone).
    pub wildcard: bool,
    /// What the query's DNS cookie was worth (for exempting clients with a valid one).
    pub cookie: CookieVerdict,
    /// DNSSEC signatures made for this answer, and signatures taken from the cache.
    pub signatures_made: u32,
    pub signatures_cached: u32,
}

/// One thread's counters. Written by that thread only, unless `shared` (TCP connections,
/// which move between runtime threads, count with atomic adds).
pub struct QueryCells {
    pub(super) shared: bool,
    pub(super) via: Via,
    pub(super) queries: Box<[AtomicU64]>,
    pub(super) answers: Box<[AtomicU64]>,
    pub(super) ecs: [AtomicU64; 2],
    /// Queries with a COOKIE option: new, valid, invalid (`COOKIE_RESULTS`).
    pub(super) cookies: [AtomicU64; 3],
    pub(super) truncated: AtomicU64,
    pub(super) cname_answers: AtomicU64,
    /// DNSSEC signatures made, and signatures served from the cache.
    pub(super) signatures: [AtomicU64; 2],
    pub(super) malformed: AtomicU64,
    pub(super) latency: [AtomicU64; BUCKETS.len() + 1],
    pub(super) latency_sum_ns: AtomicU64,
}

fn cells(n: usize) -> Box<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl QueryCells {
    pub(super) fn new(shared: bool, via: Via) -> Self {
        QueryCells {
            shared,
            via,
            queries: cells((MAX_ZONES + 1) * QTYPES.len() * RCODES.len()),
            answers: cells((MAX_POOLS + 1) * DECIDERS.len()),
            ecs: Default::default(),
            cookies: Default::default(),
            truncated: AtomicU64::new(0),
            cname_answers: AtomicU64::new(0),
            signatures: Default::default(),
            malformed: AtomicU64::new(0),
            latency: Default::default(),
            latency_sum_ns: AtomicU64::new(0),
        }
    }

    /// Single-writer cells add without a locked instruction on the query path.
    fn add(&self, c: &AtomicU64, n: u64) {
        if self.shared {
            c.fetch_add(n, Relaxed);
        } else {
            c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
        }
    }

    /// Counts one answered query that took `nanos` to handle.
    pub fn record(&self, o: &Outcome, nanos: u64) {
        let bump = |c: &AtomicU64| self.add(c, 1);
        let zone = (o.zone_slot as usize).min(MAX_ZONES);
        let i = (zone * QTYPES.len() + qtype_index(o.qtype)) * RCODES.len() + rcode_index(o.rcode);
        bump(&self.queries[i]);
        bump(&self.ecs[o.ecs as usize]);
        match o.cookie {
            CookieVerdict::Absent => {}
            CookieVerdict::New => bump(&self.cookies[0]),
            CookieVerdict::Valid => bump(&self.cookies[1]),
            CookieVerdict::Invalid => bump(&self.cookies[2]),
        }
        if o.signatures_made > 0 {
            self.add(&self.signatures[0], o.signatures_made as u64);
        }
        if o.signatures_cached > 0 {
            self.add(&self.signatures[1], o.signatures_cached as u64);
        }
        if o.cname {
            bump(&self.cname_answers);
        }
        if o.truncated {
            bump(&self.truncated);
        }
        if o.rcode == 1 {
            bump(&self.malformed);
        }
        if let Some((pool, by)) = o.gslb {
            let d = DECIDERS
                .iter()
                .position(|&x| x == by)
                .unwrap_or(DECIDERS.len() - 1);
            bump(&self.answers[(pool as usize).min(MAX_POOLS) * DECIDERS.len() + d]);
        }
        let secs = nanos as f64 * 1e-9;
        let b = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        bump(&self.latency[b]);
        self.add(&self.latency_sum_ns, nanos);
    }

    /// Counts a packet dropped without reply (runt, or a response).
    pub fn dropped(&self) {
        self.add(&self.malformed, 1);
    }
}
