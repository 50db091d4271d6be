//! EDNS options gslbd answers besides Client Subnet: the name server identifier (NSID,
//! RFC 5001) and DNS cookies (RFC 7873) in the interoperable server cookie format of
//! RFC 9018, so that every node given the same secret makes and accepts the same cookies.
//!
//! A server cookie is 16 bytes: version 1, three reserved bytes (zero in the cookies we
//! make), a 32-bit timestamp in seconds (serial-number arithmetic) and the first 8 bytes of
//! SipHash-2-4, keyed by the 16-byte secret, over
//! `client cookie | version | reserved | timestamp | client address` (4 or 16 bytes).

use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// EDNS option code of NSID.
pub const OPTION_NSID: u16 = 3;
/// EDNS option code of COOKIE.
pub const OPTION_COOKIE: u16 = 10;
/// Longest NSID we send: keeps a truncated reply (question, OPT with every option) far
/// below 512 bytes.
pub const MAX_NSID: usize = 128;

/// A server cookie is accepted up to this many seconds after its timestamp (RFC 9018 §4.3).
pub const COOKIE_MAX_AGE: u32 = 3600;
/// ...and from this many seconds before it (clock skew between nodes).
pub const COOKIE_MAX_AHEAD: u32 = 300;
/// A valid server cookie older than this is replaced by a fresh one in the reply; a younger
/// one is echoed as received.
pub const COOKIE_REFRESH_AGE: u32 = 1800;

/// What the query's COOKIE option held (RFC 7873 §4): the client cookie and, when the
/// client had one, the server cookie (8 to 32 bytes) it received from us or a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryCookie {
    pub client: [u8; 8],
    server: [u8; 32],
    server_len: u8,
}

impl QueryCookie {
    /// Reads COOKIE option data: 8 bytes, or 16 to 40 bytes. `None` when malformed.
    pub fn parse(d: &[u8]) -> Option<Self> {
        if !(d.len() == 8 || (16..=40).contains(&d.len())) {
            return None;
        }
        let mut c = QueryCookie {
            client: [0; 8],
            server: [0; 32],
            server_len: (d.len() - 8) as u8,
        };
        c.client.copy_from_slice(&d[..8]);
        c.server[..d.len() - 8].copy_from_slice(&d[8..]);
        Some(c)
    }

    /// The server cookie sent with the client cookie, if any.
    pub fn server(&self) -> Option<&[u8]> {
        (self.server_len > 0).then(|| &self.server[..self.server_len as usize])
    }
}

/// What became of a query's cookie; kept in the query's `Outcome` (and counted) so that
/// later policies can treat clients with a valid server cookie differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CookieVerdict {
    /// No COOKIE option (or no EDNS, or a reply that does not look at options).
    #[default]
    Absent,
    /// A client cookie alone: the reply carries a new server cookie.
    New,
    /// A server cookie made with our secret for this client address, within its lifetime.
    Valid,
    /// A server cookie that is not ours: another secret, another address, expired, from the
    /// future, or of another format. Answered normally, with a new server cookie.
    Invalid,
}

/// The 16-byte key of server cookies.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieSecret([u8; 16]);

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

impl CookieSecret {
    pub const fn new(key: [u8; 16]) -> Self {
        CookieSecret(key)
    }

    /// Exactly 32 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "a cookie secret is 16 bytes written as 32 hex digits, not {} characters",
                s.chars().count()
            )
        };
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut key = [0u8; 16];
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(CookieSecret(key))
    }

    /// A secret from the operating system's random source.
    pub fn random() -> std::io::Result<Self> {
        use std::io::Read;
        let mut key = [0u8; 16];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
        Ok(CookieSecret(key))
    }

    /// The 8-byte hash of a server cookie whose first 8 bytes are `head`.
    fn hash(&self, client: &[u8; 8], head: &[u8], addr: IpAddr) -> [u8; 8] {
        let mut input = [0u8; 8 + 8 + 16];
        input[..8].copy_from_slice(client);
        input[8..16].copy_from_slice(head);
        let n = match addr {
            IpAddr::V4(a) => {
                input[16..20].copy_from_slice(&a.octets());
                20
            }
            IpAddr::V6(a) => {
                input[16..32].copy_from_slice(&a.octets());
                32
            }
        };
        SipHasher24::new_with_key(&self.0)
            .hash(&input[..n])
            .to_le_bytes()
    }

    /// A new server cookie for `client` at `addr`, stamped `now`.
    pub fn server_cookie(&self, client: &[u8; 8], addr: IpAddr, now: u32) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[0] = 1;
        c[4..8].copy_from_slice(&now.to_be_bytes());
        let h = self.hash(client, &c[..8], addr);
        c[8..].copy_from_slice(&h);
        c
    }

    /// Checks a received server cookie: 16 bytes, version 1, made with this secret for this
    /// client cookie and address (the reserved bytes count as sent), stamped at most
    /// `COOKIE_MAX_AGE` seconds ago and at most `COOKIE_MAX_AHEAD` ahead. Returns its age in
    /// seconds (negative when ahead) when valid.
    pub fn verify(&self, client: &[u8; 8], server: &[u8], addr: IpAddr, now: u32) -> Option<i64> {
        if server.len() != 16 || server[0] != 1 {
            return None;
        }
        let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
        // Serial-number arithmetic (RFC 1982): the distance either way, modulo 2^32.
        let age = i64::from(now.wrapping_sub(stamp) as i32);
        if age > i64::from(COOKIE_MAX_AGE) || age < -i64::from(COOKIE_MAX_AHEAD) {
            return None;
        }
        // Compared in full; the timing of the comparison says nothing useful about the key.
        (self.hash(client, &server[..8], addr) == server[8..]).then_some(age)
    }

    /// The COOKIE option data of the reply to `cookie` from `addr` at `now`, and the verdict.
    /// A valid server cookie at most `COOKIE_REFRESH_AGE` old is echoed as received (a
    /// client sees one stable cookie for half an hour, and no hash is spent); every other
    /// reply gets a new one.
    pub fn reply(&self, cookie: &QueryCookie, addr: IpAddr, now: u32) -> ([u8; 24], CookieVerdict) {
        let mut out = [0u8; 24];
        out[..8].copy_from_slice(&cookie.client);
        let verdict = match cookie.server() {
            None => CookieVerdict::New,
            Some(server) => match self.verify(&cookie.client, server, addr, now) {
                Some(age) if age <= i64::from(COOKIE_REFRESH_AGE) => {
                    out[8..].copy_from_slice(server);
                    return (out, CookieVerdict::Valid);
                }
                Some(_) => CookieVerdict::Valid,
                None => CookieVerdict::Invalid,
            },
        };
        out[8..].copy_from_slice(&self.server_cookie(&cookie.client, addr, now));
        (out, verdict)
    }
}

/// The identity of a server: its NSID, its cookie secret, and its CHAOS-class answers.
#[derive(Debug, Clone)]
pub struct EdnsConfig {
    /// Sent to clients that ask with an NSID option; `None`: NSID is off.
    pub nsid: Option<Box<[u8]>>,
    pub cookie_secret: CookieSecret,
    /// The server's identity and version in the CHAOS class (none by default).
    pub chaos: super::chaos::Chaos,
}

impl Default for EdnsConfig {
    /// No NSID, and an all-zero cookie secret (tests and `explain`, which send no cookies).
    fn default() -> Self {
        EdnsConfig {
            nsid: None,
            cookie_secret: CookieSecret([0; 16]),
            chaos: Default::default(),
        }
    }
}

/// The `--nsid` value: `hostname` means the host's name, anything else is sent as it is.
pub fn nsid_from_arg(arg: &str) -> Result<Box<[u8]>, String> {
    let text = if arg == "hostname" {
        host_name().map_err(|e| format!("--nsid hostname: cannot read the host name: {e}"))?
    } else {
        arg.to_string()
    };
    if text.is_empty() || text.len() > MAX_NSID {
        return Err(format!(
            "--nsid must be 1 to {MAX_NSID} bytes, not {} (`{text}`)",
            text.len()
        ));
    }
    Ok(text.into_bytes().into_boxed_slice())
}

fn host_name() -> std::io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// Seconds since the Unix epoch, modulo 2^32, from the coarse real-time clock (no system
/// call on Linux: the vDSO answers). Read once per batch of queries, not per query.
pub fn unix_now() -> u32 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime fills the timespec it is given.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
            return ts.tv_sec as u32;
        }
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

#[cfg(test)]
mod tests;
