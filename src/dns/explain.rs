//! `explain`: runs one query through the real request handler and reports the answer
//! together with the GSLB decision trace.

use std::net::IpAddr;
use std::str::FromStr;

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::RecordType;
use ipnet::IpNet;
use serde::Serialize;

use super::edns::EdnsConfig;
use super::handler::{handle, Context, Transport};
use super::name::WireName;
use crate::health::HealthView;
use crate::select::Trace;
use crate::snapshot::Snapshot;

/// The result of explaining one query.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: String,
    /// The client as given: sent as EDNS Client Subnet.
    pub client: String,
    pub zone: Option<String>,
    pub rcode: String,
    /// Whether the answer is authoritative (false for a referral).
    pub authoritative: bool,
    pub answers: Vec<String>,
    /// AUTHORITY: the SOA of a negative answer, or a referral's NS records.
    pub authority: Vec<String>,
    /// ADDITIONAL: glue, or the addresses of NS/MX/SRV targets.
    pub additional: Vec<String>,
    pub ttl: Option<u32>,
    /// ECS scope prefix of the answer.
    pub scope: u8,
    /// The GSLB decision, for GSLB names.
    pub gslb: Option<Trace>,
    /// Whose probes the targets' health came from (a server's view; none offline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("bad name: {0}")]
    Name(String),
    #[error("unknown record type `{0}`")]
    Type(String),
    #[error("bad client `{0}`: expected an IP address or IP/PREFIX")]
    Client(String),
    #[error("client `{0}` has prefix 0, which carries no address; give /1 or longer")]
    ZeroPrefix(String),
    #[error("could not decode the answer: {0}")]
    Decode(String),
}

/// Parses `IP` or `IP/PREFIX` (host bits past the prefix are cleared).
pub fn parse_client(s: &str) -> Result<IpNet, ExplainError> {
    let net = match IpNet::from_str(s) {
        Ok(n) => n,
        Err(_) => IpAddr::from_str(s)
            .map(IpNet::from)
            .map_err(|_| ExplainError::Client(s.into()))?,
    };
    if net.prefix_len() == 0 {
        return Err(ExplainError::ZeroPrefix(s.into()));
    }
    Ok(net.trunc())
}

/// Explains `qtype name` asked for `client` against `snap` and `health`.
pub fn explain(
    snap: &Snapshot,
    health: &HealthView,
    name: &str,
    qtype: &str,
    client: IpNet,
) -> Result<Explanation, ExplainError> {
    let fqdn = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    let wire = WireName::parse(&fqdn, None).map_err(ExplainError::Name)?;
    let rtype = RecordType::from_str(&qtype.to_ascii_uppercase())
        .map_err(|_| ExplainError::Type(qtype.into()))?;
    let packet = build_query(&wire, u16::from(rtype), client);
    let mut trace = Trace::default();
    let mut out = Vec::new();
    let mut ctx = Context {
        snapshot: snap,
        health,
        rotation: 0,
        trace: Some(&mut trace),
        edns: &EdnsConfig::default(),
        now: super::edns::unix_now(),
        sigs: &mut crate::dnssec::SigCache::new(16),
    };
    handle(&mut ctx, &packet, client.addr(), Transport::Tcp, &mut out);
    let msg = Message::from_vec(&out).map_err(|e| ExplainError::Decode(e.to_string()))?;
    let scope = msg
        .edns
        .as_ref()
        .and_then(|e| match e.option(EdnsCode::Subnet) {
            Some(EdnsOption::Subnet(s)) => Some(s.scope_prefix()),
            _ => None,
        })
        .unwrap_or(0);
    let is_gslb = !trace.record.is_empty();
    Ok(Explanation {
        name: wire.to_string(),
        qtype: rtype.to_string(),
        client: client.to_string(),
        zone: snap.zone_for(wire.as_bytes()).map(|z| z.origin.to_string()),
        rcode: super::response::rcode::name(u16::from(msg.metadata.response_code)).to_string(),
        ttl: msg.answers.iter().map(|r| r.ttl).min(),
        authoritative: msg.metadata.authoritative,
        answers: msg.answers.iter().map(|r| r.to_string()).collect(),
        authority: msg.authorities.iter().map(|r| r.to_string()).collect(),
        additional: msg.additionals.iter().map(|r| r.to_string()).collect(),
        scope,
        health: (is_gslb && !health.decided_by.is_empty()).then_some(health.decided_by),
        gslb: is_gslb.then_some(trace),
    })
}

fn build_query(name: &WireName, qtype: u16, client: IpNet) -> Vec<u8> {
    let mut p = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    let (family, octets): (u16, Vec<u8>) = match client.addr() {
        IpAddr::V4(a) => (1, a.octets().to_vec()),
        IpAddr::V6(a) => (2, a.octets().to_vec()),
    };
    let n = (client.prefix_len() as usize).div_ceil(8);
    let mut opt = Vec::new();
    opt.extend_from_slice(&8u16.to_be_bytes());
    opt.extend_from_slice(&((4 + n) as u16).to_be_bytes());
    opt.extend_from_slice(&family.to_be_bytes());
    opt.extend_from_slice(&[client.prefix_len(), 0]);
    opt.extend_from_slice(&octets[..n]);
    p.extend_from_slice(&[0, 0, 41, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(&(opt.len() as u16).to_be_bytes());
    p.extend_from_slice(&opt);
    p
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "query: {} {} from client {}",
            self.name, self.qtype, self.client
        )?;
        match &self.zone {
            Some(z) => writeln!(f, "zone: {z}")?,
            None => writeln!(f, "zone: none of ours")?,
        }
        if let Some(h) = self.health {
            writeln!(f, "health: decided by {h}")?;
        }
        if let Some(t) = &self.gslb {
            writeln!(f, "{t}")?;
        }
        let ttl = self.ttl.map(|t| format!(", TTL {t}")).unwrap_or_default();
        let referral = if !self.authoritative && self.zone.is_some() {
            " (referral: not authoritative, the NS below are the child's)"
        } else {
            ""
        };
        writeln!(
            f,
            "answer: {}{ttl}, ECS scope /{}{referral}",
            self.rcode, self.scope
        )?;
        for a in &self.answers {
            writeln!(f, "  {a}")?;
        }
        for (title, list) in [
            ("authority", &self.authority),
            ("additional", &self.additional),
        ] {
            if !list.is_empty() {
                writeln!(f, "{title}:")?;
                for r in list {
                    writeln!(f, "  {r}")?;
                }
            }
        }
        Ok(())
    }
}
