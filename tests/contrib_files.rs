//! Keeps the monitoring files under contrib/ true to the binary: the Grafana dashboard
//! (contrib/grafana/gslbd-dashboard.json) and the Prometheus alert rules
//! (contrib/prometheus/gslbd-alerts.yaml). Every PromQL expression parses (promql-parser);
//! every metric it selects exists in the `/metrics` of a real gslbd in fleet mode (with a
//! NATS server, a checked target and a few queries answered), with every label the
//! expression matches on, groups by or joins on, and every label a legend or an annotation
//! shows; equality matchers name label values gslbd exposes. The alerts have `for:`, a
//! severity and a summary and description. `promtool check rules` and the rules' unit
//! tests (`promtool test rules`) pass (the test command fetches promtool).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, LabelModifier};
use serde_json::{json, Value};

use common::health::{self, Timing};
use common::metrics::{scrape, Scrape};
use common::nats::NatsCluster;
use common::*;

/// Labels Prometheus adds to every series it scrapes (not in `/metrics`).
const TARGET_LABELS: &[&str] = &["instance", "job"];

/// The alerts the rules file must have.
const ALERTS: &[&str] = &[
    "GslbdTargetDown",
    "GslbdPoolAllTargetsDown",
    "GslbdReloadFailed",
    "GslbdFleetDrift",
    "GslbdQueryErrorsRising",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dashboard_path() -> PathBuf {
    repo().join("contrib/grafana/gslbd-dashboard.json")
}

fn rules_path() -> PathBuf {
    repo().join("contrib/prometheus/gslbd-alerts.yaml")
}

/// One PromQL expression and the labels shown with its result (legend, annotations).
#[derive(Debug)]
struct Query {
    source: String,
    expr: String,
    shown_labels: Vec<String>,
}

/// The `{{label}}` names of a Grafana legend, and the `$labels.NAME` of an alert template.
fn template_labels(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split("{{").skip(1) {
        let inner = part.split("}}").next().unwrap_or("").trim();
        if let Some(label) = inner.strip_prefix("$labels.") {
            out.push(label.split_whitespace().next().unwrap().to_string());
        } else if !inner.starts_with('$') && !inner.is_empty() && !inner.contains(' ') {
            out.push(inner.to_string());
        }
    }
    out
}

/// Grafana's interval variables, as a duration PromQL parses.
fn expand_grafana(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
}

fn panels_of(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in v["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(panels_of(p));
    }
    out
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(dashboard_path()).unwrap();
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every expression of the dashboard's panels.
fn dashboard_queries(d: &Value) -> Vec<Query> {
    let mut out = Vec::new();
    for p in panels_of(d) {
        let title = p["title"].as_str().unwrap_or("?");
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel {title:?}: a target without expr"));
            out.push(Query {
                source: format!("dashboard panel {title:?}"),
                expr: expand_grafana(expr),
                shown_labels: template_labels(t["legendFormat"].as_str().unwrap_or("")),
            });
        }
    }
    out
}

fn rules() -> serde_norway::Value {
    let text = std::fs::read_to_string(rules_path()).unwrap();
    serde_norway::from_str(&text).expect("the rules are YAML")
}

/// Every alerting rule of the rules file.
fn alert_rules(r: &serde_norway::Value) -> Vec<&serde_norway::Value> {
    r["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules").iter())
        .collect()
}

fn rule_queries(r: &serde_norway::Value) -> Vec<Query> {
    alert_rules(r)
        .into_iter()
        .map(|rule| {
            let name = rule["alert"].as_str().expect("alert name");
            let mut shown = Vec::new();
            if let Some(ann) = rule["annotations"].as_mapping() {
                for v in ann.values() {
                    shown.extend(template_labels(v.as_str().unwrap_or("")));
                }
            }
            Query {
                source: format!("alert {name}"),
                expr: rule["expr"].as_str().expect("expr").to_string(),
                shown_labels: shown,
            }
        })
        .collect()
}

/// What an expression asks of the metrics.
#[derive(Debug, Default)]
struct Uses {
    /// Metric name → label matchers on it.
    selectors: Vec<(String, Vec<Matcher>)>,
    /// Labels that `by`/`without`/`on`/`ignoring` name, with the metrics they apply to.
    grouping: Vec<(String, BTreeSet<String>)>,
}

fn metrics_in(e: &Expr, out: &mut BTreeSet<String>) {
    let mut u = Uses::default();
    walk(e, &mut u);
    out.extend(u.selectors.into_iter().map(|(m, _)| m));
}

fn modifier_labels(m: &LabelModifier) -> Vec<String> {
    m.labels().labels.clone()
}

fn walk(e: &Expr, u: &mut Uses) {
    match e {
        Expr::Aggregate(a) => {
            if let Some(m) = &a.modifier {
                let mut inner = BTreeSet::new();
                metrics_in(&a.expr, &mut inner);
                for l in modifier_labels(m) {
                    u.grouping.push((l, inner.clone()));
                }
            }
            walk(&a.expr, u);
            if let Some(p) = &a.param {
                walk(p, u);
            }
        }
        Expr::Unary(x) => walk(&x.expr, u),
        Expr::Binary(b) => {
            if let Some(m) = b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                for side in [&b.lhs, &b.rhs] {
                    let mut inner = BTreeSet::new();
                    metrics_in(side, &mut inner);
                    for l in modifier_labels(m) {
                        u.grouping.push((l, inner.clone()));
                    }
                }
            }
            walk(&b.lhs, u);
            walk(&b.rhs, u);
        }
        Expr::Paren(p) => walk(&p.expr, u),
        Expr::Subquery(s) => walk(&s.expr, u),
        Expr::VectorSelector(v) => selector(v, u),
        Expr::MatrixSelector(m) => selector(&m.vs, u),
        Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, u)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn selector(v: &parser::VectorSelector, u: &mut Uses) {
    let name = v
        .name
        .clone()
        .or_else(|| {
            v.matchers
                .matchers
                .iter()
                .find(|m| m.name == "__name__" && m.op == MatchOp::Equal)
                .map(|m| m.value.clone())
        })
        .unwrap_or_else(|| panic!("a selector without a metric name: {v}"));
    let matchers = v
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__")
        .cloned()
        .collect();
    u.selectors.push((name, matchers));
}

/// The label names and values each metric has in a scrape.
fn labels_by_metric(s: &Scrape) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for sample in &s.samples {
        let labels = out.entry(sample.name.clone()).or_default();
        for (k, v) in &sample.labels {
            labels.entry(k.clone()).or_default().insert(v.clone());
        }
    }
    out
}

/// Checks `q` against what gslbd exposes; returns its problems.
fn problems(
    q: &Query,
    exposed: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
) -> Vec<String> {
    let ast = match parser::parse(&q.expr) {
        Ok(ast) => ast,
        Err(e) => return vec![format!("{}: does not parse: {e}\n  {}", q.source, q.expr)],
    };
    let mut u = Uses::default();
    walk(&ast, &mut u);
    let mut out = Vec::new();
    let has_label = |metric: &str, label: &str| {
        TARGET_LABELS.contains(&label)
            || exposed
                .get(metric)
                .is_some_and(|labels| labels.contains_key(label))
    };
    for (metric, matchers) in &u.selectors {
        let Some(labels) = exposed.get(metric) else {
            out.push(format!("{}: no metric {metric} in /metrics", q.source));
            continue;
        };
        for m in matchers {
            if TARGET_LABELS.contains(&m.name.as_str()) {
                continue;
            }
            match labels.get(&m.name) {
                None => out.push(format!("{}: {metric} has no label {}", q.source, m.name)),
                Some(values) if m.op == MatchOp::Equal && !values.contains(&m.value) => {
                    out.push(format!(
                        "{}: {metric} has no {}={:?} (it has {values:?})",
                        q.source, m.name, m.value
                    ))
                }
                Some(_) => {}
            }
        }
    }
    for (label, metrics) in &u.grouping {
        for m in metrics {
            if !has_label(m, label) {
                out.push(format!(
                    "{}: groups or joins on {label}, which {m} lacks",
                    q.source
                ));
            }
        }
    }
    let all: BTreeSet<&String> = u.selectors.iter().map(|(m, _)| m).collect();
    for label in &q.shown_labels {
        if !all.iter().any(|m| has_label(m, label)) {
            out.push(format!(
                "{}: shows label {label}, which none of {all:?} has",
                q.source
            ));
        }
    }
    out
}

/// A gslbd in fleet mode (one NATS server), with one checked target and one GSLB name,
/// that has answered a few queries: every metric family shows at least one series.
fn scrape_a_busy_server() -> Scrape {
    let nats = NatsCluster::start(1);
    let backend_ip = health::lo(70, 1, 10);
    let backend = TcpListener::bind((backend_ip, 0)).expect("bind the backend");
    let t = Timing {
        interval: 0.3,
        timeout: 0.2,
        rise: 1,
        fall: 1,
    };
    let z = Zones::new();
    std::fs::write(
        z.geo_dir().join("regions.json"),
        json!({ "version": 1, "regions": { "r1": [ { "networks": ["10.0.0.0/8"] } ] } })
            .to_string(),
    )
    .unwrap();
    health::write_zone(
        &z,
        "contrib.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({ "tcp": t.check("tcp", backend.local_addr().unwrap().port(), json!({})) }),
        json!({ "web": { "check": "tcp", "pools": {
            "r1": { "targets": [backend_ip.to_string()] },
            "default": { "targets": [backend_ip.to_string(), "192.0.2.1"] }
        } } }),
    );
    let fleet = nats.fleet_arg();
    let s = Server::start(
        z.zones_dir(),
        z.geo_dir(),
        &[
            "--admin",
            "127.0.0.1:0",
            "--udp-threads",
            "1",
            "--fleet",
            &fleet,
            "--node",
            "contrib",
        ],
    );
    health::wait_state(&s, backend_ip, "up", t.patience());
    for name in ["www.contrib.test.", "contrib.test.", "nx.contrib.test."] {
        // Panics when no reply comes.
        udp(s.addr(), &query(name, RecordType::A));
    }
    let (m, _) = wait_for(
        "/metrics with query counters and the fleet's gauges",
        Duration::from_secs(15),
        || {
            let m = scrape(s.admin_addr());
            let ready = m.sum("gslbd_answers_total") >= 1.0
                && m.get("gslbd_fleet_connected", &[]) == Some(1.0)
                && m.sum("gslbd_queries_total") >= 3.0;
            if ready {
                Ok(m)
            } else {
                Err(m.text)
            }
        },
    );
    drop(backend);
    m
}

#[test]
fn every_metric_and_label_of_the_dashboard_and_the_rules_exists_in_metrics() {
    let d = dashboard();
    let r = rules();
    let mut queries = dashboard_queries(&d);
    assert!(queries.len() >= 20, "{} dashboard queries", queries.len());
    queries.extend(rule_queries(&r));
    let m = scrape_a_busy_server();
    let exposed = labels_by_metric(&m);
    let mut all_problems = Vec::new();
    let mut used = BTreeSet::new();
    for q in &queries {
        all_problems.extend(problems(q, &exposed));
        if let Ok(ast) = parser::parse(&q.expr) {
            metrics_in(&ast, &mut used);
        }
    }
    // The variables' label_values(METRIC, LABEL) queries.
    for v in d["templating"]["list"].as_array().unwrap() {
        let Some(q) = v["query"]["query"].as_str().or(v["query"].as_str()) else {
            continue;
        };
        if let Some(args) = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (metric, label) = args.split_once(',').expect("label_values(METRIC, LABEL)");
            let (metric, label) = (metric.trim(), label.trim());
            if !exposed.contains_key(metric) {
                all_problems.push(format!("variable {}: no metric {metric}", v["name"]));
            }
            if !TARGET_LABELS.contains(&label) && !exposed[metric].contains_key(label) {
                all_problems.push(format!("variable {}: {metric} has no {label}", v["name"]));
            }
        }
    }
    assert!(
        all_problems.is_empty(),
        "{}\n\n/metrics:\n{}",
        all_problems.join("\n"),
        m.text
    );
    // What the dashboard promises to show is there.
    for metric in [
        "gslbd_queries_total",
        "gslbd_answers_total",
        "gslbd_targets",
        "gslbd_target_up",
        "gslbd_pool_targets",
        "gslbd_probes_total",
        "gslbd_reloads_total",
        "gslbd_query_duration_seconds_bucket",
        "gslbd_fleet_connected",
        "gslbd_fleet_config_drift",
        "gslbd_fleet_peers",
        "gslbd_dnssec_signatures_total",
        "gslbd_cookies_total",
    ] {
        assert!(
            used.contains(metric),
            "the dashboard and rules never use {metric}"
        );
    }
}

#[test]
fn the_checker_finds_a_misspelt_metric_or_label() {
    // The check above is only as good as its failures: a wrong name, label or label value is
    // reported (against a fixed exposition, no server needed).
    let m = common::metrics::parse_prometheus(
        "# TYPE gslbd_pool_targets gauge\n\
         gslbd_pool_targets{record=\"web\",pool=\"eu\",state=\"up\"} 1\n\
         # TYPE gslbd_query_duration_seconds histogram\n\
         gslbd_query_duration_seconds_bucket{le=\"+Inf\"} 1\n\
         gslbd_query_duration_seconds_sum 1\n\
         gslbd_query_duration_seconds_count 1\n",
    );
    let exposed = labels_by_metric(&m);
    let check = |expr: &str, shown: &[&str]| {
        problems(
            &Query {
                source: "test".into(),
                expr: expr.into(),
                shown_labels: shown.iter().map(|s| s.to_string()).collect(),
            },
            &exposed,
        )
    };
    assert!(check(
        r#"sum by (pool) (gslbd_pool_targets{state="up",instance=~"a"})"#,
        &["pool", "instance"]
    )
    .is_empty());
    assert!(check(
        "histogram_quantile(0.9, sum by (le) (rate(gslbd_query_duration_seconds_bucket[5m])))",
        &[]
    )
    .is_empty());
    assert_eq!(check("gslbd_pool_target", &[]).len(), 1);
    assert_eq!(check(r#"gslbd_pool_targets{state="Up"}"#, &[]).len(), 1);
    assert_eq!(check(r#"gslbd_pool_targets{zone="x"}"#, &[]).len(), 1);
    assert_eq!(check("sum by (zone) (gslbd_pool_targets)", &[]).len(), 1);
    assert_eq!(
        check("gslbd_pool_targets and on (zone) gslbd_pool_targets", &[]).len(),
        2
    );
    assert_eq!(check("gslbd_pool_targets", &["zone"]).len(), 1);
    assert_eq!(check("sum(rate(gslbd_pool_targets[5m]", &[]).len(), 1);
}

#[test]
fn the_dashboard_is_a_grafana_dashboard_with_a_datasource_variable() {
    let d = dashboard();
    assert_eq!(d["title"], "gslbd");
    assert!(d["uid"].is_string() && d["schemaVersion"].as_u64().unwrap() >= 30);
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(ds["query"], "prometheus");
    let ds_ref = format!("${{{}}}", ds["name"].as_str().unwrap());
    let panels = panels_of(&d);
    let mut ids = BTreeSet::new();
    for p in &panels {
        let title = p["title"].as_str().unwrap_or("?");
        assert!(ids.insert(p["id"].as_u64().unwrap()), "panel id twice");
        let grid = &p["gridPos"];
        let (x, w) = (grid["x"].as_u64().unwrap(), grid["w"].as_u64().unwrap());
        assert!(
            x + w <= 24 && grid["h"].as_u64().unwrap() > 0,
            "{title}: {grid}"
        );
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], ds_ref.as_str(), "{title}");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], ds_ref.as_str(), "{title}");
        }
    }
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for want in [
        "Queries by response code",
        "Queries by zone",
        "Answers by pool",
        "Pool targets up",
        "Probe failures",
        "Reloads",
        "Query duration",
        "NATS connected",
        "Drift",
        "Peers",
        "DNSSEC signatures",
        "DNS cookies",
    ] {
        assert!(titles.contains(&want), "no panel {want:?} in {titles:?}");
    }
}

#[test]
fn the_alerts_have_for_severity_and_helpful_annotations() {
    let r = rules();
    let rules = alert_rules(&r);
    let names: Vec<&str> = rules.iter().filter_map(|r| r["alert"].as_str()).collect();
    for want in ALERTS {
        assert!(names.contains(want), "no alert {want} in {names:?}");
    }
    for rule in rules {
        let name = rule["alert"].as_str().unwrap();
        let for_ = rule["for"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no for:"));
        humantime::parse_duration(for_).unwrap_or_else(|e| panic!("{name}: for {for_}: {e}"));
        let severity = rule["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        for key in ["summary", "description"] {
            let text = rule["annotations"][key]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no {key}"));
            assert!(
                text.contains("{{ $labels.instance }}"),
                "{name}: the {key} does not say which node"
            );
        }
    }
}

/// promtool, when installed (scripts/test extracts it from Debian's prometheus package).
fn promtool() -> Option<PathBuf> {
    let from_env = std::env::var_os("PROMTOOL").map(PathBuf::from);
    from_env
        .into_iter()
        .chain(["/usr/bin/promtool", "/usr/local/bin/promtool"].map(PathBuf::from))
        .find(|p| p.is_file())
}

fn run_promtool(tool: &Path, args: &[&str], dir: &Path) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_the_rules_and_their_unit_tests_pass() {
    // Like every other tool the tests use, promtool must be there: ./scripts/test fetches it.
    let tool = promtool().expect(
        "promtool not found: run ./scripts/test (it fetches promtool), or set PROMTOOL=/path/to/promtool",
    );
    let dir = repo().join("contrib/prometheus");
    run_promtool(&tool, &["check", "rules", "gslbd-alerts.yaml"], &dir);
    // The unit tests fire (and keep quiet) every alert of ALERTS.
    let tests = std::fs::read_to_string(dir.join("gslbd-alerts.test.yaml")).unwrap();
    for alert in ALERTS {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "no unit test of {alert}"
        );
    }
    run_promtool(&tool, &["test", "rules", "gslbd-alerts.test.yaml"], &dir);
}
