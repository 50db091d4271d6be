// gslbd console: reads /v1/status every 2 seconds and /v1/zones when the configuration
// changes, and calls the drain and explain endpoints. Every piece of server data reaches the
// page through textContent, never as HTML.
"use strict";
(() => {
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);

  // h("td", {class: "addr"}, "192.0.2.1"): an element with attributes and children.
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  let token = sessionStorage.getItem("gslbd-token") || "";
  let status = null;
  let zones = null;
  let zonesGeneration = -1;
  let polling = false;

  async function getJSON(path) {
    const r = await fetch(path, { cache: "no-store" });
    let body = null;
    try { body = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) throw new Error((body && body.error) || `${path}: HTTP ${r.status}`);
    return body;
  }

  async function post(path) {
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch(path, { method: "POST", headers });
    let body = {};
    try { body = await r.json(); } catch (_) { /* empty */ }
    if (r.status === 401) {
      const had = !!token;
      token = "";
      sessionStorage.removeItem("gslbd-token");
      $("token-form").hidden = false;
      $("token").focus();
      throw new Error(had ? "The admin token was refused: enter the right one above."
        : "This server asks for the admin token: enter it above, then try again.");
    }
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    return body;
  }

  function say(text, ok) {
    const m = $("message");
    m.textContent = text;
    m.className = ok ? "ok" : "";
    m.hidden = !text;
  }

  // "3 min ago", with the exact time as a tooltip.
  function ago(iso) {
    if (!iso) return "—";
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (!isFinite(s)) return iso;
    if (s < 60) return `${Math.round(s)} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  function timeCell(iso) {
    return h("td", { title: iso || "" }, ago(iso));
  }

  function badge(kind, text) {
    return h("span", { class: `badge ${kind}` }, text);
  }

  // ---- status: header, targets' states, reloads, fleet ------------------------------

  function targetKey(address, check) {
    return `${address}|${check || ""}`;
  }

  function targetRows() {
    const rows = new Map();
    for (const t of (status && status.targets) || []) rows.set(targetKey(t.address, t.check), t);
    return rows;
  }

  function poolDrained(record, pool) {
    return ((status && status.pools_drained) || []).find((p) => p.record === record && p.pool === pool);
  }

  function renderHeader() {
    const z = status.zones.length;
    const t = status.targets;
    const down = t.filter((x) => x.state === "down").length;
    const drained = t.filter((x) => x.state === "drained").length;
    const parts = [`generation ${status.generation}`, `${z} zone${z === 1 ? "" : "s"}`,
      `${t.length} target${t.length === 1 ? "" : "s"}: ${t.length - down - drained} up, ${down} down, ${drained} drained`];
    if (status.fleet) parts.push(`node ${status.fleet.node}`);
    $("summary").textContent = parts.join(" · ");
    $("token-form").hidden = !status.token_required || !!token;
  }

  function renderReloads() {
    const body = $("reload-rows");
    body.replaceChildren(...(status.reloads || []).map((r) => h("tr", {},
      timeCell(r.at),
      h("td", {}, r.trigger),
      h("td", {}, r.ok ? badge("up", "applied") : badge("down", "rejected")),
      h("td", {}, r.generation == null ? "—" : r.generation),
      h("td", {}, r.problems.length
        ? h("ul", { class: "problems" }, r.problems.map((p) => h("li", {}, p)))
        : "none"))));
  }

  async function renderFleet() {
    const on = !!status.fleet;
    $("fleet").hidden = !on;
    $("fleet-link").hidden = !on;
    if (!on) return;
    const f = await getJSON("v1/fleet");
    $("fleet-summary").textContent = `${f.nodes.length} nodes; ` +
      (f.connected ? "NATS reachable" : "NATS unreachable: answering from this node's own probes") +
      `; ${f.drift_nodes} with files differing from the majority.`;
    $("fleet-rows").replaceChildren(...f.nodes.map((n) => h("tr", {},
      h("td", {}, n.node, n.self ? " (this node)" : ""),
      h("td", {}, n.connected ? badge("up", "connected") : badge("down", "not heard")),
      timeCell(n.last_seen),
      h("td", {}, n.generation == null ? "—" : n.generation),
      h("td", {}, n.drift ? badge("down", "drift") : badge("up", "same as majority")),
      h("td", {}, n.version || "—"))));
  }

  function renderListening() {
    const l = status.listening;
    if (!l) return;
    const dns = l.dns.map((d) => h("tr", {},
      h("td", {}, d.address), h("td", {}, d.transport), h("td", {}, "kernel sockets"), h("td", {}, "—")));
    const xdp = l.xdp.map((x) => {
      const fast = x.path === "af_xdp";
      const how = fast
        ? `AF_XDP: ${x.queues} queue${x.queues === 1 ? "" : "s"}, ${x.attach} mode, ${x.sockets}` +
          (x.busy_poll_us ? `, busy polling ${x.busy_poll_us} µs` : "")
        : `kernel: ${x.reason}`;
      const packets = fast
        ? `${x.packets.answered} answered, ${x.packets.unanswered} unanswered, ${x.packets.tx_full} lost (ring full)`
        : "—";
      return h("tr", {},
        h("td", {}, x.iface),
        h("td", {}, "udp (--xdp)"),
        h("td", {}, fast ? badge("up", how) : badge("down", how)),
        h("td", {}, packets));
    });
    $("listening-rows").replaceChildren(...dns, ...xdp);
  }

  // ---- GSLB records: built from /v1/zones, states filled in from /v1/status -----------

  const TARGET_COLUMNS = ["Target", "State", "Since", "Latency", "Last error", "Check", "Share", ""];

  function buildGslb() {
    const list = $("gslb-list");
    const records = zones.zones.flatMap((z) => z.gslb);
    $("gslb-counts").textContent = records.length
      ? `${records.length} GSLB record${records.length === 1 ? "" : "s"}. A drained target leaves every pool that lists it.`
      : "No GSLB records in the served zones.";
    list.replaceChildren(...records.map((r) => h("article", { class: "card", dataset: { record: r.record } },
      h("div", { class: "card-head" },
        h("h3", { class: "mono" }, r.names.length ? r.names.join(", ") : `${r.record} (no name uses it)`),
        h("span", { class: "meta" }, `${r.policy.replace("_", " ")} · TTL ${r.ttl}` +
          (r.ttl_degraded != null ? ` (degraded ${r.ttl_degraded})` : "") +
          (r.nearest ? " · nearest data centre" : "") + ` · default pool ${r.default} · record ${r.record}`),
        h("span", { class: "record-state" })),
      h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, TARGET_COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
        r.pools.map((p) => buildPool(r, p)))))));
    const names = new Set(records.flatMap((r) => r.names));
    for (const z of zones.zones) names.add(z.origin);
    $("names").replaceChildren(...[...names].map((n) => h("option", { value: n })));
  }

  // One pool: a <tbody> with a heading row (name, state, what comes next, drain button)
  // and a row per target.
  function buildPool(r, p) {
    const head = h("tr", { class: "pool-head" }, h("th", { colspan: TARGET_COLUMNS.length, scope: "rowgroup" },
      h("span", { class: "pool-name" }, h("span", { class: "mono" }, p.name)),
      h("span", { class: "pool-state" }),
      p.fallback.length ? h("span", { class: "meta" }, `then ${p.fallback.join(", ")}`) : null,
      p.cname ? h("span", { class: "meta" }, "CNAME pool: answers with the alias ", h("span", { class: "mono" }, p.cname)) : null,
      h("button", {
        type: "button", class: "pool-drain",
        onclick: (e) => act(e.target, poolPath(r.record, p.name, !!poolDrained(r.record, p.name))),
      }, "Drain pool")));
    return h("tbody", { class: "pool", dataset: { record: r.record, pool: p.name } }, head,
      p.targets.map((t) => h("tr", { class: "target", dataset: { key: targetKey(t.address, t.check), address: t.address } },
        h("td", { class: "addr" }, t.address, t.weight !== 1 ? h("span", { class: "meta" }, ` weight ${t.weight}`) : null),
        h("td", { class: "state" }),
        h("td", { class: "since" }),
        h("td", { class: "latency" }),
        h("td", { class: "error" }),
        h("td", {}, t.check || "none (always up)"),
        h("td", { class: "share" }),
        h("td", {}, h("button", {
          type: "button", class: "target-drain",
          onclick: (e) => act(e.target, targetPath(t.address, e.target.dataset.drained === "1")),
        }, "Drain")))));
  }

  function targetPath(address, drained) {
    return `v1/targets/${encodeURIComponent(address)}/${drained ? "undrain" : "drain"}`;
  }

  function poolPath(record, pool, drained) {
    return `v1/pools/${encodeURIComponent(record)}/${encodeURIComponent(pool)}/${drained ? "undrain" : "drain"}`;
  }

  function stateBadge(t) {
    if (!t) return badge("info", "unknown");
    return badge(t.state, t.state);
  }

  function fillStates() {
    const rows = targetRows();
    for (const card of $("gslb-list").querySelectorAll("article.card")) {
      let up = 0, all = 0;
      for (const pool of card.querySelectorAll("tbody.pool")) {
        let pu = 0, pn = 0;
        for (const tr of pool.querySelectorAll("tr.target")) {
          const t = rows.get(tr.dataset.key);
          const state = t ? t.state : "unknown";
          pn++; if (state === "up") pu++;
          tr.dataset.state = state;
          const cell = tr.querySelector(".state");
          cell.replaceChildren(stateBadge(t));
          if (t && t.fleet) {
            // In a fleet: whose probes decided, and every node's vote.
            const votes = t.fleet.votes.map((v) => `${v.node} ${v.up ? "up" : "down"}${v.counted ? "" : " (stale)"}`);
            cell.append(h("span", { class: "meta votes", title: votes.join(", ") }, ` ${t.fleet.decided_by}`));
          }
          const since = tr.querySelector(".since");
          since.textContent = t ? ago(t.since) : "—";
          since.title = (t && t.since) || "";
          tr.querySelector(".latency").textContent =
            t && t.latency_ms != null ? `${t.latency_ms.toFixed(1)} ms` : "—";
          tr.querySelector(".error").textContent = (t && t.error) || "";
          tr.querySelector(".share").textContent = t && t.shift
            ? `${Math.round(t.shift.share * 100)} %${t.shift.ramping ? " (moving)" : ""}` : "";
          const b = tr.querySelector("button.target-drain");
          const drained = state === "drained";
          b.dataset.drained = drained ? "1" : "0";
          b.textContent = drained ? "Undrain" : "Drain";
          b.setAttribute("aria-label", `${drained ? "Undrain" : "Drain"} ${tr.dataset.address}`);
        }
        up += pu; all += pn;
        const d = poolDrained(pool.dataset.record, pool.dataset.pool);
        const ps = pool.querySelector(".pool-state");
        if (d) ps.replaceChildren(badge("drained", `drained ${ago(d.since)}`));
        else if (pn === 0) ps.replaceChildren(badge("up", "alias"));
        else if (pu === 0) ps.replaceChildren(badge("down", `all ${pn} down`));
        else if (pu < pn) ps.replaceChildren(badge("down", `${pu} of ${pn} up`));
        else ps.replaceChildren(badge("up", `${pn} of ${pn} up`));
        pool.dataset.state = d ? "drained" : pn && pu === 0 ? "down" : "up";
        const b = pool.querySelector("button.pool-drain");
        b.textContent = d ? "Undrain pool" : "Drain pool";
        b.setAttribute("aria-label", `${d ? "Undrain" : "Drain"} pool ${pool.dataset.pool} of ${pool.dataset.record}`);
      }
      card.querySelector(".record-state").replaceChildren(all === 0 ? badge("info", "aliases only")
        : up === all ? badge("up", "all targets up") : badge(up === 0 ? "down" : "partial", `${up} of ${all} targets up`));
    }
  }

  // A drain or undrain button: POST, then show the new state at once.
  async function act(button, path) {
    button.disabled = true;
    try {
      const r = await post(path);
      const what = r.address || `${r.record} / ${r.pool}`;
      say(`${what}: ${r.drained ? "drained" : "undrained"}.`, true);
      await poll();
    } catch (e) {
      say(e.message, false);
    } finally {
      button.disabled = false;
    }
  }

  // ---- zones and their records ----------------------------------------------------

  function buildZones() {
    $("zone-list").replaceChildren(...zones.zones.map((z) => {
      const d = h("details", { class: "card" },
        h("summary", {}, h("strong", { class: "mono" }, z.origin), " ",
          h("span", { class: "meta" }, `serial ${z.serial} · ${z.names} names · ${z.gslb.length} GSLB · ${z.signed ? "signed" : "unsigned"} · ${z.file}`)),
        h("div", { class: "records" }, "Loading records…"));
      d.addEventListener("toggle", () => { if (d.open) loadRecords(z.origin, d.querySelector(".records")); });
      return d;
    }));
  }

  async function loadRecords(origin, box) {
    try {
      const r = await getJSON(`v1/zones/${encodeURIComponent(origin)}/records`);
      box.replaceChildren(h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Name", "TTL", "Type", "Data"].map((c) => h("th", {}, c)))),
        h("tbody", {}, r.records.map((x) => h("tr", {},
          h("td", { class: "mono" }, x.name), h("td", {}, x.ttl == null ? "" : x.ttl),
          h("td", {}, x.type), h("td", { class: "mono" }, x.data)))))),
      ...(r.truncated ? [h("p", { class: "hint" }, `The first ${r.records.length} records; the rest: /v1/zones/${origin}/records?offset=${r.next_offset}`)] : []));
    } catch (e) {
      box.textContent = e.message;
    }
  }

  // ---- explain --------------------------------------------------------------------

  function lookups(l) {
    const out = [];
    if (l.location) {
      const x = l.location;
      out.push(`location: ${[x.continent, x.country, x.subdivision].filter(Boolean).join(" / ") || "unknown"} (/${x.prefix_len})`);
    }
    if (l.asn) out.push(`ASN: ${l.asn.asn == null ? "unknown" : "AS" + l.asn.asn}${l.asn.organization.length ? " " + l.asn.organization.join(", ") : ""} (/${l.asn.prefix_len})`);
    if (l.networks_scope != null) out.push(`network lists: block /${l.networks_scope}`);
    if (l.coordinates) out.push(`coordinates: ${l.coordinates.latitude == null ? "unknown" : `${l.coordinates.latitude}, ${l.coordinates.longitude}`}`);
    return out;
  }

  function traceView(t) {
    const box = h("div", { class: "trace" },
      h("dl", { class: "facts" },
        h("dt", {}, "GSLB record"), h("dd", { class: "mono" }, t.record),
        h("dt", {}, "Decided by"), h("dd", {}, t.decided_by),
        h("dt", {}, "Client"), h("dd", {}, lookups(t.lookups).join("; ") || "no lookups needed"),
        h("dt", {}, "Regions"), h("dd", {}, t.matched.length
          ? t.matched.map((m) => `${m.region} (${m.conditions})`).join(", ") : "none matched"),
        t.degraded != null ? [h("dt", {}, "Degraded"), h("dd", {}, t.degraded || "no")] : null),
      h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Pool", "Why", "Targets", "Outcome"].map((c) => h("th", {}, c)))),
        h("tbody", {}, t.pools.map((p) => h("tr", { dataset: { pool: p.pool } },
          h("td", { class: "mono" }, p.pool, p.distance_km != null ? h("span", { class: "meta" }, ` ${Math.round(p.distance_km)} km`) : null),
          h("td", {}, p.reason),
          h("td", {}, p.cname ? `alias ${p.cname}` : p.targets.map((x) => `${x.address} ${x.health}${x.shifted_out ? " (shifted out)" : ""}`).join(", ")),
          h("td", {}, p.drained ? `${p.outcome} (pool drained)` : p.outcome)))))));
    if (t.then) box.append(h("p", { class: "meta" }, "The alias is another GSLB name; its decision:"), traceView(t.then));
    return box;
  }

  async function explain(ev) {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const q = new URLSearchParams({ name: f.get("name").trim(), type: f.get("type"), client: f.get("client").trim() });
    const out = $("explain-out");
    try {
      const e = await getJSON(`v1/explain?${q}`);
      out.replaceChildren(
        h("dl", { class: "facts" },
          h("dt", {}, "Answer"), h("dd", { class: "answer" }, e.answers.length
            ? h("ul", {}, e.answers.map((a) => h("li", { class: "mono" }, a)))
            : `${e.rcode}, no answer records`),
          h("dt", {}, "Response code"), h("dd", {}, e.rcode),
          h("dt", {}, "Zone"), h("dd", {}, e.zone || "not ours"),
          h("dt", {}, "TTL"), h("dd", {}, e.ttl == null ? "—" : e.ttl),
          h("dt", {}, "ECS scope"), h("dd", {}, `/${e.scope}`),
          e.health ? [h("dt", {}, "Health from"), h("dd", {}, e.health)] : null),
        ...(e.gslb ? [traceView(e.gslb)] : []),
        h("details", {}, h("summary", {}, "As JSON (GET /v1/explain)"), h("pre", {}, JSON.stringify(e, null, 2))));
    } catch (err) {
      out.replaceChildren(h("p", { class: "problems" }, err.message));
    }
  }

  // ---- the loop -------------------------------------------------------------------

  // One poll at a time; a poll asked for meanwhile (after a drain) runs right after.
  let again = false;
  async function poll() {
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    try {
      status = await getJSON("v1/status");
      if (status.generation !== zonesGeneration) {
        zones = await getJSON("v1/zones");
        zonesGeneration = zones.generation;
        buildGslb();
        buildZones();
      }
      renderHeader();
      fillStates();
      renderReloads();
      renderListening();
      await renderFleet();
      const live = $("live");
      live.dataset.state = "live";
      live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      const live = $("live");
      live.dataset.state = "lost";
      live.textContent = `no answer from the server (${e.message}); retrying`;
    } finally {
      polling = false;
      if (again) {
        again = false;
        poll();
      }
    }
  }

  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("gslbd-token", token);
    $("token-form").hidden = !!token;
    say(token ? "Token set for this tab." : "", true);
  });
  $("explain-form").addEventListener("submit", explain);
  poll();
  setInterval(poll, POLL_MS);
})();
