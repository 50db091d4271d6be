//! Query generators for the differential test: queries for the names of the test zones and
//! around them (random labels, letter case, types, classes, EDNS, ECS, clients), and the
//! byte-level mutations applied to them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;
use proptest::prelude::*;
use proptest::sample::select;

use crate::spec::{EdnsSpec, Mutation, QuerySpec, Shape};

/// Names that exist (or are empty non-terminals) in the shipped example.
pub const EXAMPLE_NAMES: &str = "example.com. ns1.example.com. ns2.example.com.
    mail.example.com. docs.example.com. blog.example.com. _sip._udp.example.com.
    _udp.example.com. sip.example.com. www.example.com. api.example.com.
    static.example.com. long.example.com. cdn.example.com. *.cdn.example.com. apps.example.com.
    *.apps.example.com. status.apps.example.com. lab.example.com. ns1.lab.example.com.
    media.example.com. edge.example.com.";

/// Names that exist (or are empty non-terminals) in the extra zones.
pub const EXTRA_NAMES: &str = "big.test. ns.big.test. mx.big.test. loop.big.test.
    ext.big.test. tosub.big.test. tosub-missing.big.test. tosub-empty.big.test.
    tosticky.big.test. srv.big.test. ptr.big.test. a.b.c.deep.big.test. b.c.deep.big.test.
    deep.big.test. mixed.big.test. sticky.big.test. v4only.big.test. first.big.test.
    weighted.big.test. end.big.test. c1.big.test. c2.big.test. c3.big.test. c4.big.test.
    c5.big.test. c9.big.test. c10.big.test. sub.big.test. a.sub.big.test. ent.sub.big.test.
    x.ent.sub.big.test. loop.sub.big.test. back.sub.big.test. ns.sub.big.test. wild.big.test.
    *.wild.big.test. exists.wild.big.test. x.ent.wild.big.test. ent.wild.big.test.
    *.wgslb.big.test. *.wcname.big.test. *.wchain.big.test. todeleg.big.test. deleg.big.test.
    ns1.deleg.big.test. nods.big.test. ns.nods.big.test. fat.big.test. ns7.fat.big.test.
    ttls.big.test. cdn.big.test. near.big.test. tonear.big.test. *.wcdn.big.test.";

/// Names of the extra zones whose answers come close to, or exceed, the UDP size limits.
pub const BIG_NAMES: &str =
    "many.big.test. txt.big.test. longtxt.big.test. huge.big.test. alias-huge.big.test.";

/// Names answered by GSLB records (directly or through a CNAME) in each configuration.
const EXAMPLE_GSLB: &str =
    "www.example.com. api.example.com. docs.example.com. a.cdn.example.com. status.apps.example.com.
    media.example.com. edge.example.com.";
const EXTRA_GSLB: &str =
    "sticky.big.test. v4only.big.test. first.big.test. weighted.big.test. tosticky.big.test.
    x.wgslb.big.test. cdn.big.test. near.big.test. tonear.big.test. x.wcdn.big.test.";

/// Parents under which random labels make non-existent names (and names outside the zones).
const SUFFIXES: &str = "example.com. www.example.com. _udp.example.com. big.test.
    sub.big.test. many.big.test. deep.big.test. com. test. . example.org. xexample.com.
    cdn.example.com. apps.example.com. lab.example.com. wild.big.test. ent.wild.big.test.
    exists.wild.big.test. wgslb.big.test. wcname.big.test. wchain.big.test. deleg.big.test.
    fat.big.test. wcdn.big.test.";

/// Query types: the record types gslbd holds, the special ones, and a few unknown ones.
pub const QTYPES: &[u16] = &[
    1, 28, 6, 2, 15, 16, 5, 255, 33, 257, 12, 13, 43, 252, 251, 41, 0, 99, 65280, 65535,
];

/// Client and ECS addresses inside the example's regions (GB, CN, AS4837, US-CA, office, JP,
/// CZ, SE, Telstra...) and outside all of them.
const PLACES: &str = "81.2.69.161 175.16.199.0 175.16.199.200 27.192.0.1 214.78.1.1
    10.1.2.3 89.160.20.112 1.128.0.1 8.8.8.8 192.0.2.99 fd00::1 2001:218::1 2a02:d280::1
    2001:480::1 2c0f:ff00::1 2001:db8::1 ::1";

/// The names in one of the lists above.
pub fn names(list: &str) -> Vec<Name> {
    list.split_whitespace()
        .map(|n| Name::from_ascii(n).unwrap())
        .collect()
}

fn label() -> impl Strategy<Value = Vec<u8>> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
    prop_oneof![
        8 => prop::collection::vec(select(ALPHABET), 1..12),
        1 => prop::collection::vec(any::<u8>(), 1..=63),
    ]
}

/// `labels` prepended to `suffix`, as many as fit in 255 bytes.
fn prepend(labels: &[Vec<u8>], suffix: Name) -> Name {
    let mut name = suffix;
    for l in labels.iter().rev() {
        match Name::from_labels([l.as_slice()]).and_then(|n| n.append_name(&name)) {
            Ok(longer) => name = longer,
            Err(_) => break,
        }
    }
    name
}

/// Flips the case of the ASCII letters of `name` chosen by the bits of `mask`.
fn recase(name: &Name, mask: u64) -> Name {
    let mut bit = 0;
    let labels: Vec<Vec<u8>> = name
        .iter()
        .map(|l| {
            l.iter()
                .map(|&b| {
                    bit = (bit + 1) % 64;
                    if b.is_ascii_alphabetic() && mask >> bit & 1 == 1 {
                        b ^ 0x20
                    } else {
                        b
                    }
                })
                .collect()
        })
        .collect();
    Name::from_labels(labels).unwrap()
}

/// A query name, mostly from the zones of the configuration in use (`extra` or the example),
/// in random letter case.
pub fn name(extra: bool) -> BoxedStrategy<Name> {
    let (ours, theirs) = if extra {
        (EXTRA_NAMES, EXAMPLE_NAMES)
    } else {
        (EXAMPLE_NAMES, EXTRA_NAMES)
    };
    let base = prop_oneof![
        8 => select(names(ours)),
        2 => select(names(BIG_NAMES)),
        1 => select(names(theirs)),
        4 => (prop::collection::vec(label(), 1..3), select(names(SUFFIXES)))
            .prop_map(|(l, s)| prepend(&l, s)),
        1 => (prop::collection::vec(label(), 20..60), select(names(SUFFIXES)))
            .prop_map(|(l, s)| prepend(&l, s)),
    ];
    (base, prop_oneof![Just(0u64), any::<u64>()])
        .prop_map(|(n, mask)| recase(&n, mask))
        .boxed()
}

/// An address near one of `PLACES` (low bits random) or anywhere.
pub fn address() -> BoxedStrategy<IpAddr> {
    let places: Vec<IpAddr> = PLACES
        .split_whitespace()
        .map(|a| a.parse().unwrap())
        .collect();
    prop_oneof![
        3 => (select(places), 0u32..12, any::<u128>()).prop_map(|(p, bits, r)| {
            match p {
                IpAddr::V4(a) => {
                    let low = (r as u32) & ((1u32 << bits) - 1);
                    IpAddr::V4(Ipv4Addr::from(u32::from(a) ^ low))
                }
                IpAddr::V6(a) => {
                    let low = r & ((1u128 << (bits * 8)) - 1);
                    IpAddr::V6(Ipv6Addr::from(u128::from(a) ^ low))
                }
            }
        }),
        1 => any::<[u8; 4]>().prop_map(IpAddr::from),
        1 => any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
    .boxed()
}

fn ecs() -> impl Strategy<Value = (IpAddr, u8)> {
    (
        address(),
        any::<u8>(),
        prop_oneof![Just(None), (0u8..=128).prop_map(Some)],
    )
        .prop_map(|(addr, r, pick)| {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let common: &[u8] = if addr.is_ipv4() {
                &[0, 24, 32, 20, 8]
            } else {
                &[0, 56, 48, 64, 128]
            };
            let prefix = pick.map_or(common[r as usize % common.len()], |p| p % (max + 1));
            (masked(addr, prefix), prefix)
        })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// An ECS option written byte by byte, often malformed: unknown family, prefix too long,
/// too many or too few address bytes, bits past the prefix, a scope in the query.
fn raw_ecs() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let family = prop_oneof![4 => Just(1u16), 4 => Just(2), 1 => Just(0), 1 => Just(3)];
    let prefix = prop_oneof![4 => 0u8..=33, 2 => 0u8..=129, 1 => any::<u8>()];
    let scope = prop_oneof![3 => Just(0u8), 1 => any::<u8>()];
    let slack = prop_oneof![4 => Just(0isize), 1 => -1isize..=1];
    let tail = (any::<[u8; 17]>(), any::<bool>());
    (family, prefix, scope, slack, tail).prop_map(|(family, prefix, scope, slack, tail)| {
        let (addr, low_bits) = tail;
        let need = (prefix as usize).div_ceil(8);
        let len = (need as isize + slack).clamp(0, 17) as usize;
        let mut d = family.to_be_bytes().to_vec();
        d.extend_from_slice(&[prefix, scope]);
        d.extend_from_slice(&addr[..len]);
        if !low_bits && prefix % 8 != 0 && len == need {
            d[3 + need] &= 0xffu8 << (8 - prefix % 8);
        }
        (8, d)
    })
}

fn edns() -> BoxedStrategy<EdnsSpec> {
    let version = prop_oneof![12 => Just(0u8), 1 => Just(1u8), 1 => any::<u8>()];
    let payload = prop_oneof![
        Just(512u16),
        Just(1232),
        Just(4096),
        0u16..4096,
        any::<u16>()
    ];
    let option = (
        prop_oneof![Just(15u16), Just(12), Just(5), any::<u16>()],
        bytes(24),
    )
        .prop_filter(
            "ECS, NSID and COOKIE options are generated apart",
            |(c, _)| ![8, 3, 10].contains(c),
        );
    let nsid = prop::option::weighted(0.3, prop_oneof![4 => Just(Vec::new()), 1 => bytes(8)]);
    let other = prop::option::weighted(0.3, prop_oneof![2 => option, 1 => raw_ecs()]);
    (
        version,
        any::<bool>(),
        prop_oneof![3 => Just(0u16), 1 => 0u16..0x8000],
        payload,
        prop::option::weighted(0.6, ecs()),
        other,
        nsid,
    )
        .prop_map(
            |(version, dnssec_ok, z, payload, ecs, other, nsid)| EdnsSpec {
                version,
                dnssec_ok,
                z,
                payload,
                ecs,
                other,
                // Filled in from `cookies()` once the client and the clock are known.
                cookies: Vec::new(),
                nsid,
            },
        )
        .boxed()
}

/// How a query's COOKIE option is made, once the client address and the server's clock and
/// secret are known.
#[derive(Debug, Clone)]
pub enum CookiePlan {
    /// A client cookie alone.
    ClientOnly([u8; 8]),
    /// A server cookie made by the reference (`reference::cookies::mint`) `age` seconds ago
    /// (negative: ahead), for this client or another address, with the server's secret or
    /// another, with the given version and reserved bytes.
    Minted {
        client: [u8; 8],
        age: i64,
        other_address: bool,
        other_secret: bool,
        version: u8,
        reserved: [u8; 3],
    },
    /// Bytes of any length (mostly malformed).
    Raw(Vec<u8>),
}

/// The COOKIE options of a query: mostly none, often one made well, sometimes a malformed
/// or a repeated one.
pub fn cookies() -> BoxedStrategy<Vec<CookiePlan>> {
    let age = prop_oneof![
        4 => select(&[0i64, 1, 1799, 1800, 1801, 3599, 3600, 3601, -299, -300, -301][..]),
        2 => -1000i64..5000,
        1 => any::<i32>().prop_map(i64::from),
    ];
    let minted = (
        any::<[u8; 8]>(),
        age,
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
        prop_oneof![8 => Just(1u8), 1 => any::<u8>()],
        prop_oneof![6 => Just([0u8; 3]), 1 => any::<[u8; 3]>()],
    )
        .prop_map(
            |(client, age, other_address, other_secret, version, reserved)| CookiePlan::Minted {
                client,
                age,
                other_address,
                other_secret,
                version,
                reserved,
            },
        );
    let raw_len = prop_oneof![
        select(&[0usize, 1, 7, 9, 15, 16, 17, 24, 39, 40, 41][..]),
        0usize..48,
    ];
    let raw = raw_len
        .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n))
        .prop_map(CookiePlan::Raw);
    let one = prop_oneof![
        3 => any::<[u8; 8]>().prop_map(CookiePlan::ClientOnly),
        4 => minted,
        2 => raw,
    ];
    prop_oneof![
        4 => Just(Vec::new()),
        4 => one.clone().prop_map(|c| vec![c]),
        1 => prop::collection::vec(one, 2),
    ]
    .boxed()
}

/// A query for the configuration in use (`extra` or the example).
pub fn query(extra: bool) -> BoxedStrategy<QuerySpec> {
    let qtype = prop_oneof![6 => select(QTYPES), 1 => any::<u16>()];
    let gslb = names(if extra { EXTRA_GSLB } else { EXAMPLE_GSLB });
    // Weighted towards GeoDNS answers and (in the extra zones) answers near the size limits.
    let question = prop_oneof![
        6 => (name(extra), qtype),
        3 => (select(gslb), select(&[1u16, 28, 1, 28, 255, 16][..])),
        if extra { 2 } else { 0 } => (select(names(BIG_NAMES)), select(&[1u16, 28, 16][..])),
    ];
    let qclass = prop_oneof![20 => Just(1u16), 1 => Just(3), 1 => Just(255), 1 => any::<u16>()];
    let opcode = prop_oneof![20 => Just(0u8), 1 => 0u8..16];
    let shape = prop_oneof![
        30 => Just(Shape::Plain), 1 => Just(Shape::NoQuestion), 1 => Just(Shape::TwoQuestions),
        1 => Just(Shape::AnswerRecord), 1 => Just(Shape::AdditionalRecord), 1 => Just(Shape::TwoOpts),
        1 => Just(Shape::CompressedQuestion), 1 => Just(Shape::OptOwnerPointer),
        1 => Just(Shape::OptInAnswer),
    ];
    let flags = (any::<bool>(), any::<bool>(), prop::bool::weighted(0.1));
    (
        any::<u16>(),
        opcode,
        flags,
        question,
        qclass,
        prop::option::weighted(0.7, edns()),
        shape,
    )
        .prop_map(
            |(id, opcode, (rd, cd, ad), (name, qtype), qclass, edns, shape)| QuerySpec {
                id,
                opcode,
                rd,
                cd,
                ad,
                name,
                qtype,
                qclass,
                edns,
                shape,
            },
        )
        .boxed()
}

pub fn mutations() -> BoxedStrategy<Vec<Mutation>> {
    let one = prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        3 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ];
    prop::collection::vec(one, 1..5).boxed()
}

/// `addr` with the bits past `prefix` cleared, as a valid ECS address must be.
fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let keep = (u64::MAX << (32 - u32::from(prefix))) as u32;
            IpAddr::V4((u32::from(a) & keep).into())
        }
        IpAddr::V6(a) => {
            let keep = match prefix {
                0 => 0,
                p => u128::MAX << (128 - u32::from(p)),
            };
            IpAddr::V6((u128::from(a) & keep).into())
        }
    }
}
