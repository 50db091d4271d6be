//! DNS on the wire: query parsing, response writing, the request handler and the listeners.
//! The only place that knows the DNS message format.

pub mod certs;
pub mod chaos;
mod compress;
pub mod datagram;
pub mod edns;
pub mod explain;
mod gslb_answer;
pub mod handler;
pub mod listening;
pub mod mmsg;
pub mod name;
mod padding;
pub mod query;
pub mod query_log;
pub mod quic;
pub mod rdata;
mod referral;
pub mod response;
pub mod rr;
pub mod rrl;
pub mod signed;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod xdp;
