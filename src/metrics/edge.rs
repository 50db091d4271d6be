//! The counters of the Internet edge, rendered at scrape time: response rate limiting and
//! the TCP, TLS and QUIC connection tables, and the AF_XDP queues.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use super::Metrics;

impl Metrics {
    /// Response rate limiting's held-back responses, the TCP (and TLS, QUIC) listeners'
    /// open connections and the ones closed by the caps.
    pub(super) fn render_edge(&self, o: &mut String) {
        let tables = self.tcp_tables.lock().unwrap();
        let open: usize = tables.iter().map(|t| t.len()).sum();
        let count = |f: &dyn Fn(&crate::dns::tcp::ConnTable) -> u64| -> u64 {
            tables.iter().map(|t| f(t)).sum()
        };
        let per_client = count(&|t| t.refused_per_client.load(Relaxed));
        let evicted = count(&|t| t.evicted.load(Relaxed));
        if let Some(r) = self.rrl.lock().unwrap().as_ref() {
            let _ = writeln!(
                o,
                "# HELP gslbd_rrl_limited_total UDP responses held back by response rate limiting: dropped, or slipped (sent truncated).\n\
                 # TYPE gslbd_rrl_limited_total counter\n\
                 gslbd_rrl_limited_total{{action=\"dropped\"}} {}\n\
                 gslbd_rrl_limited_total{{action=\"slipped\"}} {}",
                r.dropped.load(Relaxed),
                r.slipped.load(Relaxed)
            );
        }
        let _ = writeln!(
            o,
            "# HELP gslbd_tcp_connections Open TCP connections.\n# TYPE gslbd_tcp_connections gauge\n\
             gslbd_tcp_connections {open}\n\
             # HELP gslbd_tcp_closed_total TCP connections closed by the caps: refused because their client network held its share (per_client), or closed to make room for a newcomer (evicted).\n\
             # TYPE gslbd_tcp_closed_total counter\n\
             gslbd_tcp_closed_total{{reason=\"per_client\"}} {per_client}\n\
             gslbd_tcp_closed_total{{reason=\"evicted\"}} {evicted}"
        );
        let queues = self.xdp.lock().unwrap();
        if !queues.is_empty() {
            let _ = writeln!(
                o,
                "# HELP gslbd_xdp_packets_total Packets the XDP program steered into gslbd's AF_XDP sockets, by what became of them: answered, unanswered (not a query, malformed, or held back by RRL), tx_full (the reply was lost: transmit ring full).\n\
                 # TYPE gslbd_xdp_packets_total counter"
            );
            for q in queues.iter() {
                for (result, c) in [
                    ("answered", &q.answered),
                    ("unanswered", &q.unanswered),
                    ("tx_full", &q.tx_full),
                ] {
                    let _ = writeln!(
                        o,
                        "gslbd_xdp_packets_total{{iface=\"{}\",queue=\"{}\",result=\"{result}\"}} {}",
                        q.iface,
                        q.queue,
                        c.load(Relaxed)
                    );
                }
            }
        }
    }
}
