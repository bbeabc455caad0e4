// SPDX-License-Identifier: GPL-2.0-or-later
// The HTML report: one self-contained page (no external resources) with a
// kernel x case matrix coloured by outcome, a per-case plot of the time to
// first detection across kernels and runs, and each result's details one
// click away. The data is embedded as JSON; a small script renders it. The
// script marks <body data-rendered="ok"> when it has drawn everything, and
// records any script error in #errors, which the headless-browser test reads.
#include <fmt/format.h>

#include "diorace/report.hpp"

namespace diorace {

namespace {

const char* kPage = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>diorace report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em} h2{font-size:1.1em;margin:1.4em 0 .4em}
table.matrix{border-collapse:collapse} .matrix th,.matrix td{border:1px solid #bbb;padding:.35em .6em;text-align:center}
.matrix th.case{text-align:left;font-family:monospace}
td.PASS{background:#c8f0c8} td.FAIL{background:#f4a3a3;font-weight:bold} td.SKIP{background:#e6e6e6;color:#666}
td.ERROR{background:#ffd27f} td.INCOMPLETE{background:#d9c2f0} td.none{background:#fff;color:#aaa}
td.cell{cursor:pointer} td.cell:hover{outline:2px solid #333}
.nodet{font-size:.75em;color:#7a3b00;display:block;font-weight:normal}
#details{margin-top:1em;border:1px solid #999;padding:.6em;display:none;background:#fafafa}
#details pre{white-space:pre-wrap;max-height:30em;overflow:auto;background:#fff;border:1px solid #ddd;padding:.4em}
.legend span{display:inline-block;padding:.1em .5em;margin-right:.4em;border:1px solid #bbb}
svg text{font:11px sans-serif} .plot{display:inline-block;margin:0 1.5em 1em 0;vertical-align:top}
#errors{color:#b00}
</style></head>
<body data-rendered="no">
<h1>diorace report</h1>
<div id="summary"></div>
<div class="legend"><span class="l" style="background:#c8f0c8">PASS</span><span style="background:#f4a3a3">FAIL</span><span style="background:#e6e6e6">SKIP</span><span style="background:#ffd27f">ERROR</span><span style="background:#d9c2f0">INCOMPLETE</span> <i>no detector</i>: the case ran without the race detector its verdict needs</div>
<h2>Kernel &times; case</h2>
<table class="matrix" id="matrix"></table>
<div id="details"></div>
<h2>Time to first detection</h2>
<div id="plots"></div>
<div id="errors"></div>
<script type="application/json" id="data">@DATA@</script>
<script>
"use strict";
window.onerror = function (msg, src, line) {
  document.getElementById("errors").textContent += "script error: " + msg + " (line " + line + ")\n";
  document.body.dataset.rendered = "error";
};
(function () {
  var runs = JSON.parse(document.getElementById("data").textContent);
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function key(c) { return c.variant ? c.name + "[" + c.variant + "]" : c.name; }
  function kernelOf(r) {
    var rel = r.system && r.system.kernel && r.system.kernel.release;
    var label = (r.run && r.run.label) || (r.vm && r.vm.deb) || "";
    return rel || label || "unknown kernel";
  }
  var kernels = [], cases = [], cells = {};
  runs.forEach(function (r) {
    var k = kernelOf(r);
    if (kernels.indexOf(k) < 0) kernels.push(k);
    (r.cases || []).forEach(function (c) {
      var ck = key(c);
      if (cases.indexOf(ck) < 0) cases.push(ck);
      var id = k + "\u0000" + ck;
      (cells[id] = cells[id] || []).push({run: r, c: c});
    });
  });
  cases.sort();
  var nfail = 0;
  runs.forEach(function (r) { (r.cases || []).forEach(function (c) { if (c.outcome === "FAIL") nfail++; }); });
  document.getElementById("summary").textContent = runs.length + " run(s), " + kernels.length + " kernel(s), " +
      cases.length + " case(s), " + nfail + " failing result(s)";
  function aggregate(list) {
    var o = list.map(function (x) { return x.c.outcome; });
    if (o.indexOf("FAIL") >= 0) return "FAIL";
    if (o.indexOf("PASS") >= 0) return "PASS";
    return o[0];
  }
  var table = document.getElementById("matrix");
  var head = el("tr");
  head.appendChild(el("th", {}, "case \\ kernel"));
  kernels.forEach(function (k) { head.appendChild(el("th", {}, k)); });
  table.appendChild(head);
  cases.forEach(function (ck) {
    var tr = el("tr");
    tr.appendChild(el("th", {"class": "case"}, ck));
    kernels.forEach(function (k) {
      var list = cells[k + "\u0000" + ck];
      if (!list) { tr.appendChild(el("td", {"class": "none"}, "-")); return; }
      var agg = aggregate(list);
      var fails = list.filter(function (x) { return x.c.outcome === "FAIL"; }).length;
      var td = el("td", {"class": "cell " + agg, "data-kernel": k, "data-case": ck},
                  agg + (list.length > 1 ? " " + fails + "/" + list.length : ""));
      if (list.some(function (x) { return x.c.detectors_armed === false; }))
        td.appendChild(el("span", {"class": "nodet"}, "no detector"));
      if (list.some(function (x) { return x.c.fault_injected; }))
        td.appendChild(el("span", {"class": "nodet"}, "fault injected (test)"));
      td.addEventListener("click", function () { show(k, ck, list); });
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
  function show(k, ck, list) {
    var d = document.getElementById("details");
    d.innerHTML = "";
    d.style.display = "block";
    d.appendChild(el("h2", {}, ck + " on " + k));
    list.forEach(function (x) {
      var c = x.c, r = x.run;
      var when = (r.run && r.run.started_at) || "";
      d.appendChild(el("p", {}, c.outcome + (c.kind ? " (" + c.kind + ")" : "") + " " + when + ": " +
          c.iterations + " iterations, " + (c.duration_s || 0).toFixed(1) + " s" +
          (c.first_failure_s !== undefined ? ", first failure after " + c.first_failure_s.toFixed(2) + " s" : "") +
          (c.reason ? " - " + c.reason : "") + (c.detectors_armed === false ? " [ran WITHOUT its race detector]" : "")));
      (c.events || []).forEach(function (ev) {
        var body = ev.type === "corruption" ? ev.report : ev.text;
        if (body) d.appendChild(el("pre", {}, "[" + ev.type + (ev.unrelated ? ", unrelated" : "") + "] " + body));
      });
    });
  }
  // Per case: time to first detection (s) per kernel, one dot per failing run.
  var NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var plots = document.getElementById("plots"), drawn = 0;
  cases.forEach(function (ck) {
    var pts = [], maxT = 0;
    kernels.forEach(function (k, ki) {
      (cells[k + "\u0000" + ck] || []).forEach(function (x) {
        if (x.c.outcome === "FAIL" && typeof x.c.first_failure_s === "number") {
          pts.push({k: ki, t: x.c.first_failure_s});
          maxT = Math.max(maxT, x.c.first_failure_s);
        }
      });
    });
    if (!pts.length) return;
    var W = Math.max(320, 90 + 90 * kernels.length), H = 180, L = 50, B = 40, top = 20;
    var s = svg("svg", {width: W, height: H, role: "img"});
    s.appendChild(svg("text", {x: L, y: 12}, ck + ": seconds to first detection"));
    s.appendChild(svg("line", {x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: "#444"}));
    s.appendChild(svg("line", {x1: L, y1: top, x2: L, y2: H - B, stroke: "#444"}));
    var ymax = maxT > 0 ? maxT * 1.1 : 1;
    for (var i = 0; i <= 4; i++) {
      var v = ymax * i / 4, y = H - B - (H - B - top) * i / 4;
      s.appendChild(svg("text", {x: 4, y: y + 4}, v < 10 ? v.toPrecision(2) : v.toFixed(0)));
    }
    kernels.forEach(function (k, ki) {
      var x = L + 45 + 90 * ki;
      s.appendChild(svg("text", {x: x - 40, y: H - B + 16}, k.length > 16 ? k.slice(0, 16) + "\u2026" : k));
    });
    pts.forEach(function (p, i) {
      var x = L + 45 + 90 * p.k + ((i % 5) - 2) * 4, y = H - B - (H - B - top) * (p.t / ymax);
      s.appendChild(svg("circle", {cx: x, cy: y, r: 4, fill: "#c00", "fill-opacity": 0.7}));
    });
    var box = el("div", {"class": "plot"});
    box.appendChild(s);
    plots.appendChild(box);
    drawn++;
  });
  // report.html#first-failure opens the first failing result's details.
  if (location.hash === "#first-failure") {
    var first = document.querySelector("td.cell.FAIL");
    if (first) first.click();
  }
  if (!drawn) plots.textContent = "no failures with a detection time in these runs";
  if (document.body.dataset.rendered === "no") document.body.dataset.rendered = "ok";
})();
</script>
</body></html>
)HTML";

}  // namespace

std::string to_html(const std::vector<RunRecord>& runs) {
  std::string data = nlohmann::json(runs).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Nothing in the data may close the script element.
  std::string safe;
  safe.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '<') {
      safe += "\\u003c";
      continue;
    }
    safe.push_back(data[i]);
  }
  std::string page = kPage;
  page.replace(page.find("@DATA@"), 6, safe);
  return page;
}

}  // namespace diorace
