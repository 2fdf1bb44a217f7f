// cloudscan HTML report. Every value from the report document is put on the page with DOM APIs
// and text nodes only: resource names, tags and messages come from the cloud.
(function () {
  "use strict";
  var started = performance.now();
  var SEVERITIES = ["critical", "high", "medium", "low", "info"];
  var PAGE_SIZE = 100;
  var SVG_NS = "http://www.w3.org/2000/svg";

  function $(id) { return document.getElementById(id); }

  // el("td", {class: "x", "data-testid": "y"}, "text", otherNode, ...): strings become text nodes.
  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (var k in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, k) && attrs[k] !== null && attrs[k] !== undefined) {
        node.setAttribute(k, String(attrs[k]));
      }
    }
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }
  function sevRank(s) { var i = SEVERITIES.indexOf(s); return i < 0 ? SEVERITIES.length : i; }
  function sevClass(s) { return SEVERITIES.indexOf(s) < 0 ? "info" : s; }
  // Short display names (arn:aws:eks:us-east-1:123:cluster/prod -> cluster/prod) come with the
  // data, in `_short` (short_names() in html.rs); the full value is in the title.
  var shortNames = {};
  function shortResource(r) {
    if (typeof r === "string" && Object.prototype.hasOwnProperty.call(shortNames, r)) return shortNames[r];
    return r;
  }
  function textValue(v) {
    if (v === null || v === undefined) return "null";
    return typeof v === "string" ? v : JSON.stringify(v);
  }
  function table(headers, rows, cls) {
    var thead = el("thead", null, el("tr", null, headers.map(function (h) { return el("th", null, h); })));
    var tbody = el("tbody", null, rows);
    return el("table", { "class": "data" + (cls ? " " + cls : "") }, thead, tbody);
  }
  function note(text) { return el("p", { "class": "note" }, text); }

  function fail(message) {
    var status = $("scan-status");
    status.className = "banner incomplete";
    status.textContent = message;
    document.body.dataset.error = message;
    document.body.dataset.ready = "1";
  }

  var doc;
  try {
    doc = JSON.parse($("report-data").textContent);
  } catch (e) {
    fail("The embedded report data could not be read: " + e.message);
    return;
  }
  if (!doc || typeof doc !== "object" || !doc.scan || !doc.summary) {
    fail("The embedded report data is not a cloudscan report.");
    return;
  }
  if (doc._short && typeof doc._short === "object") shortNames = doc._short;
  // Per-rule fields are embedded once (see compact() in html.rs); put them back on each finding.
  var ruleFields = doc._rules || {};
  (doc.findings || []).forEach(function (f) {
    var r = ruleFields[f.rule_id];
    if (!r) return;
    ["title", "remediation", "compliance"].forEach(function (k) {
      if (f[k] === undefined && r[k] !== undefined) f[k] = r[k];
    });
  });
  var scan = doc.scan;
  var summary = doc.summary;
  var findings = Array.isArray(doc.findings) ? doc.findings : [];
  var coverage = Array.isArray(doc.coverage) ? doc.coverage : [];

  // ---- header ---------------------------------------------------------------------------------
  function renderHeader() {
    var scopes = (scan.scopes || []).map(function (s) { return s.name ? s.id + " (" + s.name + ")" : s.id; });
    var provider = String(scan.provider || "").toUpperCase();
    document.title = "cloudscan " + scan.provider + " report: " + (scan.scopes || []).map(function (s) { return s.id; }).join(", ");
    $("report-title").textContent = provider + " cloud-layer report";
    var meta = $("scan-meta");
    function item(label, value, testid) {
      meta.appendChild(el("div", null, el("dt", null, label), el("dd", testid ? { "data-testid": testid } : null, value)));
    }
    item("Provider", scan.provider, "meta-provider");
    item(scopes.length === 1 ? "Scope" : "Scopes", scopes.join(", ") || "-", "meta-scopes");
    item("Caller", scan.caller || "unknown", "meta-caller");
    item("Mode", scan.mode, "meta-mode");
    item("Started", scan.started_at + (scan.duration_ms !== undefined ? " (" + (scan.duration_ms / 1000).toFixed(1) + " s)" : ""), "meta-time");
    item("Regions", (scan.regions || []).join(", ") || "-");
    item("Clusters", fmt((scan.clusters || []).length));
    if (scan.id !== null && scan.id !== undefined) item("Stored scan", "#" + scan.id);

    var incomplete = coverage.filter(function (c) { return c.status !== "complete"; }).length;
    var status = $("scan-status");
    clear(status);
    if (scan.complete && incomplete === 0) {
      status.className = "banner complete";
      status.dataset.complete = "1";
      append(status, "Scan complete: every collector read everything it tried (" + fmt(coverage.length) + " coverage entries).");
    } else {
      status.className = "banner incomplete";
      status.dataset.complete = "0";
      append(status, [
        "INCOMPLETE scan: ",
        el("span", { "data-testid": "incomplete-count" }, fmt(incomplete)),
        " of " + fmt(coverage.length) + " coverage entries could not be read fully; the absence of findings there proves nothing (see ",
        el("a", { href: "#coverage" }, "Coverage"), ")."
      ]);
    }
    var foot = $("footer");
    append(foot, "Generated by " + ((doc.tool && doc.tool.name) || "cloudscan") + " " + ((doc.tool && doc.tool.version) || "") +
      ", report schema " + doc.schema_version + ". Self-contained: this file loads nothing from the network.");
  }

  // ---- summary cards --------------------------------------------------------------------------
  function renderCards() {
    var cards = $("cards");
    var items = SEVERITIES.map(function (s) { return [s, "open " + s, summary[s]]; })
      .concat([["waived", "waived", summary.waived], ["waivers", "waivers in force", summary.waivers], ["new", "new", summary["new"]], ["fixed", "fixed", summary.fixed]]);
    items.forEach(function (it) {
      cards.appendChild(el("div", { "class": "card " + it[0] },
        el("div", { "class": "num", "data-testid": "count-" + it[0] }, String(it[2] || 0)),
        el("div", { "class": "label" }, it[1])));
    });
  }

  // ---- severity by cluster / scope ------------------------------------------------------------
  function groupOpen(key) {
    var groups = new Map();
    for (var i = 0; i < findings.length; i++) {
      var f = findings[i];
      if (f.status === "waived") continue;
      var k = key(f);
      var g = groups.get(k);
      if (!g) { g = { critical: 0, high: 0, medium: 0, low: 0, info: 0, total: 0 }; groups.set(k, g); }
      g[sevClass(f.severity)]++;
      g.total++;
    }
    return Array.from(groups.entries()).sort(function (a, b) {
      return b[1].total - a[1].total || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    });
  }
  function renderBars(container, groups, testid, limit) {
    if (groups.length === 0) { container.appendChild(note("No open findings.")); return; }
    var max = groups[0][1].total || 1;
    groups.slice(0, limit).forEach(function (entry) {
      var name = entry[0], g = entry[1];
      var track = el("div", { "class": "track" });
      var fill = el("div", { "class": "fill" });
      fill.style.width = (100 * g.total / max).toFixed(2) + "%";
      SEVERITIES.forEach(function (s) {
        if (!g[s]) return;
        var seg = el("div", { "class": "seg " + s, title: s + ": " + g[s] });
        seg.style.width = (100 * g[s] / g.total).toFixed(3) + "%";
        fill.appendChild(seg);
      });
      track.appendChild(fill);
      container.appendChild(el("div", { "class": "row", "data-testid": testid },
        el("div", { "class": "name", title: name }, name), track, el("div", { "class": "total" }, fmt(g.total))));
    });
    if (groups.length > limit) container.appendChild(note("and " + fmt(groups.length - limit) + " more"));
  }
  function renderDistribution() {
    var clusterNames = new Map();
    (scan.clusters || []).forEach(function (c) { clusterNames.set(c.id, c.name); });
    renderBars($("by-cluster"), groupOpen(function (f) {
      return f.cluster ? (clusterNames.get(f.cluster) || f.cluster) : "(not cluster-specific)";
    }), "cluster-bar", 25);
    renderBars($("by-scope"), groupOpen(function (f) { return f.scope || "(no scope)"; }), "scope-bar", 25);
    var legend = $("legend");
    SEVERITIES.forEach(function (s) { legend.appendChild(el("span", null, el("span", { "class": "dot " + s }), s)); });
  }

  // ---- trend ----------------------------------------------------------------------------------
  function renderTrend() {
    var box = $("trend-chart");
    var points = Array.isArray(doc.trend) ? doc.trend : [];
    if (points.length < 2) {
      box.appendChild(note(points.length === 1
        ? "Only one stored scan: scan with --store to build a trend."
        : "No history: scan with --store to build a trend."));
      box.dataset.points = String(points.length);
      return;
    }
    box.dataset.points = String(points.length);
    var W = 900, H = 280, L = 48, R = 110, T = 14, B = 46;
    var max = 0;
    points.forEach(function (p) { SEVERITIES.forEach(function (s) { max = Math.max(max, p[s] || 0); }); });
    var step = niceStep(max);
    var top = Math.max(step, Math.ceil(max / step) * step);
    function x(i) { return L + (W - L - R) * (points.length === 1 ? 0.5 : i / (points.length - 1)); }
    function y(v) { return T + (H - T - B) * (1 - v / top); }
    var chart = svg("svg", { "class": "trend", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Open findings per severity across stored scans", "data-testid": "trend-svg" });
    for (var v = 0; v <= top; v += step) {
      chart.appendChild(svg("line", { "class": "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      chart.appendChild(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
    }
    chart.appendChild(svg("line", { "class": "axis", x1: L, x2: W - R, y1: y(0), y2: y(0) }));
    var every = Math.max(1, Math.ceil(points.length / 10));
    points.forEach(function (p, i) {
      if (i % every !== 0 && i !== points.length - 1) return;
      chart.appendChild(svg("text", { x: x(i), y: H - B + 16, "text-anchor": "middle" }, "#" + p.scan_id));
      chart.appendChild(svg("text", { x: x(i), y: H - B + 30, "text-anchor": "middle" }, String(p.started_at || "").slice(0, 10)));
    });
    var colors = {};
    var rootStyle = getComputedStyle(document.documentElement);
    SEVERITIES.forEach(function (s) { colors[s] = rootStyle.getPropertyValue("--" + s).trim() || "#555"; });
    var labels = [];
    SEVERITIES.forEach(function (s) {
      var coords = points.map(function (p, i) { return x(i).toFixed(1) + "," + y(p[s] || 0).toFixed(1); });
      chart.appendChild(svg("polyline", { points: coords.join(" "), fill: "none", stroke: colors[s], "stroke-width": 2.2, "stroke-linejoin": "round" }));
      points.forEach(function (p, i) {
        chart.appendChild(svg("circle", { cx: x(i), cy: y(p[s] || 0), r: 3, fill: colors[s] },
          svg("title", null, s + ": " + (p[s] || 0) + " (scan #" + p.scan_id + ", " + p.started_at + ")")));
      });
      labels.push({ s: s, y: y(points[points.length - 1][s] || 0), v: points[points.length - 1][s] || 0 });
    });
    // Labels at the right end, pushed apart so they do not overlap.
    labels.sort(function (a, b) { return a.y - b.y; });
    for (var i = 1; i < labels.length; i++) labels[i].y = Math.max(labels[i].y, labels[i - 1].y + 13);
    labels.forEach(function (l) {
      chart.appendChild(svg("text", { x: W - R + 8, y: l.y + 4, fill: colors[l.s], "font-weight": "600" }, l.s + " " + l.v));
    });
    box.appendChild(chart);
    box.appendChild(note("Open findings per severity in each stored scan of these scopes, oldest first (" + points.length + " scans)."));
  }
  function niceStep(max) {
    if (max <= 5) return 1;
    var raw = max / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
  }

  // ---- frameworks -----------------------------------------------------------------------------
  var STATUS_TEXT = { passed: "passed", failed: "failed", waived: "waived (accepted risk)", not_assessed: "not assessed" };
  function renderFrameworks() {
    var box = $("framework-list");
    var fws = Array.isArray(doc.frameworks) ? doc.frameworks : [];
    if (fws.length === 0) { box.appendChild(note("No framework controls in this report.")); return; }
    fws.forEach(function (fw, idx) {
      var rows = (fw.controls || []).map(function (c) {
        return el("tr", null,
          el("td", { "class": "mono" }, c.id),
          el("td", null, c.title),
          el("td", null, el("span", { "class": "pill " + c.status }, STATUS_TEXT[c.status] || c.status)),
          el("td", null, c.reason),
          el("td", { "class": "mono" }, (c.rules || []).join(", ")));
      });
      var details = el("details", { "class": "fw", "data-testid": "framework", "data-framework": fw.id },
        el("summary", null,
          el("span", { "class": "t" }, fw.title + " ", el("span", { "class": "muted mono" }, fw.id)),
          el("span", { "class": "pill passed" }, fmt(fw.passed) + " passed"),
          el("span", { "class": "pill failed" }, fmt(fw.failed) + " failed"),
          el("span", { "class": "pill waived" }, fmt(fw.waived || 0) + " waived"),
          el("span", { "class": "pill not_assessed" }, fmt(fw.not_assessed) + " not assessed")),
        el("div", { "class": "inner" }, table(["Control", "Title", "Status", "Reason", "Rules"], rows)));
      if (idx === 0) details.open = true;
      box.appendChild(details);
    });
  }

  // ---- findings -------------------------------------------------------------------------------
  // Computed once: the severity rank and a lowercase search key per finding, and the default order.
  var keys = new Array(findings.length);
  var order = new Array(findings.length);
  for (var i = 0; i < findings.length; i++) {
    var f = findings[i];
    var ev = Array.isArray(f.evidence) ? f.evidence.map(function (e) { return e.field + " " + textValue(e.value); }).join(" ") : "";
    keys[i] = [f.rule_id, f.title, f.resource, f.scope, f.region, f.cluster, f.node_pool, f.message, f.fingerprint, ev,
      (f.compliance || []).join(" "), f.waiver ? f.waiver.owner + " " + f.waiver.reason : ""].join("\n").toLowerCase();
    order[i] = i;
  }
  var ranks = findings.map(function (f) { return (f.status === "waived" ? 10 : 0) + sevRank(f.severity); });
  order.sort(function (a, b) {
    var fa = findings[a], fb = findings[b];
    return ranks[a] - ranks[b] ||
      (fa.rule_id < fb.rule_id ? -1 : fa.rule_id > fb.rule_id ? 1 : 0) ||
      (fa.resource < fb.resource ? -1 : fa.resource > fb.resource ? 1 : 0) || a - b;
  });
  var matches = order;
  var page = 0;
  var expanded = new Set();

  function fillSelect(select, options) {
    options.forEach(function (o) { select.appendChild(el("option", { value: o[0] }, o[1])); });
  }
  function distinct(get) {
    var seen = new Map();
    for (var i = 0; i < findings.length; i++) {
      var v = get(findings[i]);
      if (v) seen.set(v, (seen.get(v) || 0) + 1);
    }
    return Array.from(seen.keys()).sort().map(function (k) { return [k, k + " (" + fmt(seen.get(k)) + ")"]; });
  }
  function setupFilters() {
    var sevCounts = {};
    findings.forEach(function (f) { sevCounts[f.severity] = (sevCounts[f.severity] || 0) + 1; });
    fillSelect($("f-severity"), [["", "all"]].concat(SEVERITIES.map(function (s) { return [s, s + " (" + fmt(sevCounts[s] || 0) + ")"]; })));
    fillSelect($("f-status"), [["", "all"], ["open", "open"], ["waived", "waived"]]);
    fillSelect($("f-rule"), [["", "all"]].concat(distinct(function (f) { return f.rule_id; })));
    fillSelect($("f-cluster"), [["", "all"], ["-", "(not cluster-specific)"]].concat(distinct(function (f) { return f.cluster; })));
    ["f-severity", "f-status", "f-rule", "f-cluster", "f-new"].forEach(function (id) {
      $(id).addEventListener("change", applyFilters);
    });
    var timer = null;
    $("f-search").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(applyFilters, findings.length > 5000 ? 180 : 60);
    });
    $("filters").addEventListener("submit", function (e) { e.preventDefault(); applyFilters(); });
    $("f-reset").addEventListener("click", function () {
      ["f-severity", "f-status", "f-rule", "f-cluster", "f-search"].forEach(function (id) { $(id).value = ""; });
      $("f-new").checked = false;
      applyFilters();
    });
    $("p-first").addEventListener("click", function () { page = 0; renderPage(); });
    $("p-prev").addEventListener("click", function () { page = Math.max(0, page - 1); renderPage(); });
    $("p-next").addEventListener("click", function () { page = Math.min(lastPage(), page + 1); renderPage(); });
    $("p-last").addEventListener("click", function () { page = lastPage(); renderPage(); });
    $("findings-all").textContent = String(findings.length);
  }
  function lastPage() { return Math.max(0, Math.ceil(matches.length / PAGE_SIZE) - 1); }

  function applyFilters() {
    var sev = $("f-severity").value, status = $("f-status").value, rule = $("f-rule").value;
    var cluster = $("f-cluster").value, newOnly = $("f-new").checked;
    var terms = $("f-search").value.toLowerCase().split(/\s+/).filter(Boolean);
    var out = [];
    for (var n = 0; n < order.length; n++) {
      var i = order[n], f = findings[i];
      if (sev && f.severity !== sev) continue;
      if (status && (f.status || "open") !== status) continue;
      if (rule && f.rule_id !== rule) continue;
      if (cluster === "-" ? !!f.cluster : cluster && f.cluster !== cluster) continue;
      if (newOnly && f.change !== "new") continue;
      var key = keys[i], ok = true;
      for (var t = 0; t < terms.length; t++) { if (key.indexOf(terms[t]) < 0) { ok = false; break; } }
      if (!ok) continue;
      out.push(i);
    }
    matches = out;
    page = 0;
    renderPage();
  }

  function whereText(f) { return [f.region, f.cluster ? shortResource(f.cluster) : null, f.node_pool].filter(Boolean).join(" / "); }

  function renderPage() {
    var body = $("findings-body");
    clear(body);
    $("findings-total").textContent = String(matches.length);
    var from = page * PAGE_SIZE, to = Math.min(matches.length, from + PAGE_SIZE);
    for (var n = from; n < to; n++) {
      var i = matches[n];
      body.appendChild(findingRow(i));
      if (expanded.has(i)) body.appendChild(detailRow(i));
    }
    if (matches.length === 0) body.appendChild(el("tr", null, el("td", { colspan: 5, "class": "note" }, "No finding matches these filters.")));
    $("page-info").textContent = matches.length > PAGE_SIZE ? " \u2014 showing " + fmt(from + 1) + "\u2013" + fmt(to) : "";
    $("p-label").textContent = "Page " + fmt(page + 1) + " of " + fmt(lastPage() + 1);
    $("p-first").disabled = $("p-prev").disabled = page === 0;
    $("p-next").disabled = $("p-last").disabled = page >= lastPage();
    $("pager").style.display = matches.length > PAGE_SIZE ? "" : "none";
  }

  function findingRow(i) {
    var f = findings[i];
    var waived = f.status === "waived";
    var statusCell = el("td", null, el("span", { "class": "pill " + (waived ? "waived" : "open") }, waived ? "waived" : "open"));
    if (f.change === "new") append(statusCell, [" ", el("span", { "class": "pill new" }, "new")]);
    var row = el("tr", { "class": "frow" + (waived ? " waived-row" : "") + (expanded.has(i) ? " open-row" : ""), "data-testid": "finding-row", tabindex: 0, "aria-expanded": expanded.has(i) ? "true" : "false" },
      el("td", null, el("span", { "class": "sev " + sevClass(f.severity) }, f.severity)),
      el("td", null, el("span", { "class": "mono" }, f.rule_id), el("span", { "class": "rtitle" }, f.title)),
      el("td", { "class": "mono", title: f.resource }, shortResource(f.resource)),
      el("td", null, whereText(f) || f.scope),
      statusCell);
    function toggle() {
      if (expanded.has(i)) expanded.delete(i); else expanded.add(i);
      renderPage();
    }
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    return row;
  }

  function detailRow(i) {
    var f = findings[i];
    var dl = el("dl");
    function item(label, value) { if (value !== null && value !== undefined && value !== "") dl.appendChild(el("dt", null, label)); if (value !== null && value !== undefined && value !== "") dl.appendChild(el("dd", null, value)); }
    item("Message", f.message);
    item("Resource", el("span", { "class": "mono" }, f.resource));
    item("Scope", f.scope);
    var ev = Array.isArray(f.evidence) ? f.evidence : [];
    if (ev.length) {
      item("Evidence", table(["Source", "Field", "Value"], ev.map(function (e) {
        return el("tr", null, el("td", { "class": "mono" }, e.source), el("td", { "class": "mono" }, e.field), el("td", { "class": "mono" }, textValue(e.value)));
      })));
    }
    item("Remediation", f.remediation);
    item("Compliance", (f.compliance || []).join(", "));
    item("Fingerprint", el("span", { "class": "mono" }, f.fingerprint));
    if (f.change) item("Since last scan", f.change === "new" ? "new" : "also open in the previous scan");
    if (f.waiver) {
      var w = f.waiver;
      item("Waiver", "waived until " + w.expires + " by " + w.owner + ": " + w.reason + " (" + w.location + ")");
    }
    return el("tr", { "class": "detail", "data-testid": "finding-detail" }, el("td", { colspan: 5 }, el("div", { "class": "detail" }, dl)));
  }

  // ---- diff -----------------------------------------------------------------------------------
  function goneTable(list) {
    return table(["Severity", "Rule", "Resource", "Scope / cluster", "Fingerprint"], list.map(function (g) {
      return el("tr", null,
        el("td", null, el("span", { "class": "sev " + sevClass(g.severity) }, g.severity)),
        el("td", null, el("span", { "class": "mono" }, g.rule_id), el("span", { "class": "rtitle" }, g.title)),
        el("td", { "class": "mono", title: g.resource }, shortResource(g.resource)),
        el("td", null, g.cluster ? g.scope + " / " + shortResource(g.cluster) : g.scope),
        el("td", { "class": "mono" }, g.fingerprint));
    }), "gone");
  }
  function renderDiff() {
    var box = $("diff");
    var d = doc.diff;
    if (!d) { box.appendChild(note("No history was used for this scan: scan with --store to compare with the previous scan.")); return; }
    var baselines = (d.baselines || []).map(function (b) {
      return b.scan_id !== null && b.scan_id !== undefined
        ? b.scope + " compared with scan #" + b.scan_id + (b.started_at ? " (" + b.started_at + ")" : "")
        : b.scope + ": first stored scan";
    });
    box.appendChild(el("p", null, baselines.join("; ")));
    box.appendChild(el("p", null,
      el("strong", { "data-testid": "diff-new" }, fmt(d["new"])), " new, ",
      el("strong", { "data-testid": "diff-fixed" }, fmt((d.fixed || []).length)), " fixed, ",
      el("strong", null, fmt(d.open)), " still open, ",
      el("strong", { "data-testid": "diff-unverified" }, fmt((d.unverified || []).length)), " not re-assessed."));
    box.appendChild(el("h3", null, "Fixed"));
    box.appendChild((d.fixed || []).length ? goneTable(d.fixed) : note("Nothing fixed since the previous scan."));
    box.appendChild(el("h3", null, "Not re-assessed"));
    box.appendChild((d.unverified || []).length
      ? el("div", null, note("In the previous scan but not in this one, and this scan could not read the scope completely: not counted as fixed."), goneTable(d.unverified))
      : note("None."));
  }

  // ---- waiver notes ---------------------------------------------------------------------------
  function renderWaivers() {
    var box = $("waiver-list");
    var w = doc.waivers || {};
    var expired = w.expired || [], stale = w.stale || [];
    function notes(list, kind) {
      return table(["Rule", "Resource", "Owner", "Expires", "Location", "Matches", "Note"], list.map(function (n) {
        var r = n.waiver || {};
        return el("tr", { "data-testid": "waiver-" + kind },
          el("td", { "class": "mono" }, r.rule), el("td", { "class": "mono" }, r.resource), el("td", null, r.owner),
          el("td", null, r.expires), el("td", { "class": "mono" }, r.location), el("td", null, fmt(n.matches)), el("td", null, n.message));
      }));
    }
    box.appendChild(el("h3", null, "Expired (" + expired.length + ")"));
    box.appendChild(expired.length ? notes(expired, "expired") : note("No expired waiver matches a finding."));
    box.appendChild(el("h3", null, "Stale (" + stale.length + ")"));
    box.appendChild(stale.length ? notes(stale, "stale") : note("Every waiver matches a finding."));
  }

  // ---- coverage -------------------------------------------------------------------------------
  function renderCoverage() {
    var box = $("coverage-list");
    if (coverage.length === 0) { box.appendChild(note("No coverage entries.")); return; }
    var sorted = coverage.slice().sort(function (a, b) {
      var ia = a.status === "complete" ? 1 : 0, ib = b.status === "complete" ? 1 : 0;
      return ia - ib || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0) || (a.region < b.region ? -1 : a.region > b.region ? 1 : 0);
    });
    var incomplete = sorted.filter(function (c) { return c.status !== "complete"; }).length;
    box.appendChild(el("p", null, fmt(coverage.length - incomplete) + " complete, " + fmt(incomplete) + " not complete" +
      (incomplete ? " (listed first, highlighted)." : ".")));
    box.appendChild(table(["Scope", "Service", "Region", "Status", "Detail"], sorted.map(function (c) {
      var bad = c.status !== "complete";
      return el("tr", bad ? { "class": "incomplete-row", "data-testid": "coverage-incomplete" } : null,
        el("td", { "class": "mono" }, c.scope), el("td", null, c.service), el("td", null, c.region),
        el("td", { "class": "status" }, c.status), el("td", null, c.detail || ""));
    })));
  }

  function step(name, fn) {
    try { fn(); } catch (e) {
      var msg = "Could not draw the " + name + " section: " + (e && e.message ? e.message : e);
      if (window.console) console.error(msg);
      document.body.dataset.error = msg;
    }
  }
  step("header", renderHeader);
  step("summary", renderCards);
  step("cluster and scope", renderDistribution);
  step("trend", renderTrend);
  step("frameworks", renderFrameworks);
  step("findings", function () { setupFilters(); renderPage(); });
  step("changes", renderDiff);
  step("waiver", renderWaivers);
  step("coverage", renderCoverage);
  document.body.dataset.readyMs = String(Math.round(performance.now() - started));
  document.body.dataset.ready = "1";
})();
