//! Reading the admin API's `/metrics`: a strict Prometheus text parser (every sample in a
//! declared family, no series twice) and scrapes that wait for counters to catch up.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::http_request;

#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed Prometheus text exposition.
#[derive(Debug)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    /// Metric family name → TYPE.
    pub types: BTreeMap<String, String>,
    pub text: String,
}

pub fn valid_metric_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Parses `{k="v",...}` at the start of `s`; returns the labels and the rest after `}`.
pub fn parse_labels(s: &str, line: &str) -> (BTreeMap<String, String>, String) {
    let bad = |why: &str| -> ! { panic!("bad labels ({why}) in metrics line {line:?}") };
    let mut labels = BTreeMap::new();
    let mut chars = s.strip_prefix('{').unwrap_or_else(|| bad("no {")).chars();
    loop {
        let mut key = String::new();
        loop {
            match chars.next() {
                Some('}') if key.is_empty() => return (labels, chars.collect()),
                Some('=') => break,
                Some(c) if c.is_ascii_alphanumeric() || c == '_' => key.push(c),
                _ => bad("label name"),
            }
        }
        if chars.next() != Some('"') {
            bad("value must be quoted");
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c @ ('\\' | '"')) => value.push(c),
                    _ => bad("escape"),
                },
                Some(c) => value.push(c),
                None => bad("unterminated value"),
            }
        }
        if labels.insert(key.clone(), value).is_some() {
            bad("duplicate label");
        }
        match chars.next() {
            Some(',') => continue,
            Some('}') => return (labels, chars.collect()),
            _ => bad("expected , or }"),
        }
    }
}

pub fn parse_prometheus(text: &str) -> Scrape {
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut parts = comment.trim_start().splitn(3, ' ');
            if parts.next() == Some("TYPE") {
                let name = parts.next().expect("TYPE name");
                let kind = parts.next().expect("TYPE kind").trim();
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "bad TYPE line {line:?}"
                );
                assert!(
                    types.insert(name.to_string(), kind.to_string()).is_none(),
                    "TYPE declared twice for {name}"
                );
            }
            continue;
        }
        let end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("metrics line without a value: {line:?}"));
        let name = &line[..end];
        assert!(valid_metric_name(name), "bad metric name in {line:?}");
        let (labels, rest) = if line[end..].starts_with('{') {
            parse_labels(&line[end..], line)
        } else {
            (BTreeMap::new(), line[end..].to_string())
        };
        assert!(rest.starts_with(' '), "no space before the value: {line:?}");
        let mut fields = rest.split_whitespace();
        let value = fields
            .next()
            .and_then(parse_value)
            .unwrap_or_else(|| panic!("bad sample value in {line:?}"));
        if let Some(ts) = fields.next() {
            assert!(ts.parse::<i64>().is_ok(), "bad timestamp in {line:?}");
        }
        assert!(fields.next().is_none(), "trailing fields in {line:?}");
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    let scrape = Scrape {
        samples,
        types,
        text: text.to_string(),
    };
    // Every sample belongs to a declared family; no series appears twice.
    let mut seen = BTreeSet::new();
    for s in &scrape.samples {
        let family = scrape.family(&s.name);
        assert!(
            scrape.types.contains_key(&family),
            "sample {} has no # TYPE for its family",
            s.name
        );
        assert!(
            seen.insert((s.name.clone(), s.labels.clone())),
            "series {} {:?} appears twice",
            s.name,
            s.labels
        );
    }
    scrape
}

impl Scrape {
    /// The family of a sample name (`x_bucket`/`x_sum`/`x_count` belong to histogram `x`).
    pub fn family(&self, name: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if matches!(
                    self.types.get(base).map(String::as_str),
                    Some("histogram" | "summary")
                ) {
                    return base.to_string();
                }
            }
        }
        name.to_string()
    }

    /// The value of the series with exactly these labels, if present.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// Like `get`; an absent counter series counts as 0.
    pub fn val(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// Like `get`, but the series must be present.
    pub fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {name}{labels:?} in /metrics:\n{}", self.text))
    }

    /// The sum over every series named `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.value)
            .sum()
    }
}

pub fn scrape(admin: SocketAddr) -> Scrape {
    let (code, body) = http_request(admin, "GET", "/metrics", None);
    assert_eq!(code, 200, "GET /metrics: {body}");
    parse_prometheus(&body)
}

/// Scrapes until `ready` holds (query counters are bumped just after the reply is sent), or
/// 3 s pass; returns the last scrape either way so the caller's assertions report.
pub fn scrape_until(admin: SocketAddr, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let m = scrape(admin);
        if ready(&m) || Instant::now() > deadline {
            return m;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
