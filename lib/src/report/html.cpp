// SPDX-License-Identifier: GPL-2.0-or-later
// The HTML report: one self-contained page (no external resources) with
// filters (case, kernel, dates, outcome), a kernel x case matrix (kernels in
// version order, grouped by flavour; each cell: failed runs / runs and the
// latest outcome, opening its runs' details and console logs), a failure
// rate table, one time-to-detection chart per case with kernels on its y
// axis, and the runs in progress or without results apart. The data is embedded as JSON; a small script renders it. The
// script marks <body data-rendered="ok"> when it has drawn everything, and
// records any script error in #errors, which the headless-browser test reads.
#include <algorithm>

#include <fmt/format.h>

#include "diorace/distro.hpp"
#include "diorace/registry.hpp"
#include "diorace/report.hpp"

namespace diorace {

namespace {

const char* kPage = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>diorace report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em} h2{font-size:1.1em;margin:1.4em 0 .4em}
.scroll{overflow-x:auto;max-width:100%}
table.grid{border-collapse:collapse} .grid th,.grid td{border:1px solid #bbb;padding:.3em .5em;text-align:center;white-space:nowrap}
.grid th.case{text-align:left;font-family:monospace}
.grid th.k{vertical-align:bottom;padding:.4em .2em}
.grid th.k span{writing-mode:vertical-rl;transform:rotate(180deg);display:inline-block;max-height:16em;overflow:hidden;text-overflow:ellipsis;font-weight:normal;font-family:monospace}
.grid th.flavour{background:#eef}
td.PASS{background:#c8f0c8} td.FAIL{background:#f4a3a3} td.SKIP{background:#e6e6e6;color:#666}
td.ERROR{background:#ffd27f} td.INCOMPLETE{background:#d9c2f0} td.none{background:#fff;color:#aaa}
td.cell{cursor:pointer} td.cell:hover{outline:2px solid #333}
.grid td b{display:block} .grid td small{display:block;color:#333;font-size:.75em}
.nodet{font-size:.75em;color:#7a3b00;display:block}
#details{margin-top:1em;border:1px solid #999;padding:.6em;display:none;background:#fafafa}
#details pre{white-space:pre-wrap;max-height:30em;overflow:auto;background:#fff;border:1px solid #ddd;padding:.4em}
.legend span{display:inline-block;padding:.1em .5em;margin-right:.4em;border:1px solid #bbb}
#filters{display:flex;flex-wrap:wrap;gap:.4em 1em;margin:.6em 0;padding:.5em;background:#f4f4f8;border:1px solid #ddd}
#filters label{white-space:nowrap}
svg text{font:11px sans-serif} .plot{display:inline-block;margin:0 1.5em 1em 0;vertical-align:top}
#pending li{font-family:monospace}
#errors{color:#b00}
#rates td{white-space:normal;padding:.2em .3em} #rates td small{white-space:nowrap}
</style></head>
<body data-rendered="no" data-overlaps="unknown" data-overflow="unknown">
<h1>diorace report</h1>
<div id="summary"></div>
<div id="filters">
<label>case <select id="f-case"><option value="">all</option></select></label>
<label>kernel <select id="f-kernel"><option value="">all</option></select></label>
<label>from <input type="date" id="f-from"></label>
<label>to <input type="date" id="f-to"></label>
<label>outcome <select id="f-outcome"><option value="">all</option><option>FAIL</option><option>PASS</option><option>SKIP</option><option>ERROR</option><option>INCOMPLETE</option></select></label>
</div>
<div class="legend"><span style="background:#c8f0c8">PASS</span><span style="background:#f4a3a3">FAIL</span><span style="background:#e6e6e6">SKIP</span><span style="background:#ffd27f">ERROR</span><span style="background:#d9c2f0">INCOMPLETE</span> a cell: failed runs / runs, and the latest outcome; <i>no detector</i>: the case ran without the race detector its verdict needs</div>
<h2>Kernel &times; case</h2>
<p>Kernels by version, grouped by flavour. A cell opens its runs.</p>
<div class="scroll"><table class="grid" id="matrix"></table></div>
<div id="details"></div>
<h2>Failure rate</h2>
<p>Per case and kernel: failed runs / runs, and failed iterations / iterations.</p>
<div class="scroll"><table class="grid" id="rates"></table></div>
<h2>Time to first detection</h2>
<p>One chart per case, one row per kernel (in version order), one dot per failing run.</p>
<div id="plots"></div>
<h2>Per Debian series</h2>
<p>For each case and series its controls name: the newest package it failed on and the first it passed on, in these runs.</p>
<div class="scroll"><table class="grid" id="series"></table></div>
<h2>Bisections: failure probability per kernel</h2>
<p>From the store's bisection log: per kernel a bisection decided on, failing runs / runs (the estimate of p).</p>
<div id="bisections"></div>
<h2>Runs in progress or without results</h2>
<ul id="pending"></ul>
<div id="layout"></div>
<div id="errors"></div>
<script type="application/json" id="data">@DATA@</script>
<script>
"use strict";
window.onerror = function (msg, src, line) {
  document.getElementById("errors").textContent += "script error: " + msg + " (line " + line + ")\n";
  document.body.dataset.rendered = "error";
};
(function () {
  var data = JSON.parse(document.getElementById("data").textContent);
  var runs = data.runs, pending = data.pending, allKernels = data.kernels;
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function key(c) { return c.variant ? c.name + "[" + c.variant + "]" : c.name; }
  var allCases = [];
  runs.forEach(function (r) {
    r.cases.forEach(function (c) { if (allCases.indexOf(key(c)) < 0) allCases.push(key(c)); });
  });
  allCases.sort();
  allCases.forEach(function (c) { $("f-case").appendChild(el("option", {value: c}, c)); });
  allKernels.forEach(function (k) { $("f-kernel").appendChild(el("option", {value: k.name}, k.name)); });
  function runId(r) { return r.run.id !== undefined ? "run " + r.run.id : "run " + (r.run.uid || "").slice(0, 8); }

  function render() {
    var fc = $("f-case").value, fk = $("f-kernel").value, fo = $("f-outcome").value;
    var from = $("f-from").value, to = $("f-to").value;
    var cells = {}, kernelsSeen = {}, casesSeen = {}, nres = 0, nfail = 0;
    runs.forEach(function (r) {
      var day = (r.run.started_at || "").slice(0, 10);
      if (from && day < from) return;
      if (to && day > to) return;
      if (fk && r.kernel !== fk) return;
      r.cases.forEach(function (c) {
        var ck = key(c);
        if (fc && ck !== fc) return;
        if (fo && c.outcome !== fo) return;
        (cells[r.kernel + "\u0000" + ck] = cells[r.kernel + "\u0000" + ck] || []).push({run: r, c: c});
        kernelsSeen[r.kernel] = 1; casesSeen[ck] = 1; nres++;
        if (c.outcome === "FAIL") nfail++;
      });
    });
    var kernels = allKernels.filter(function (k) { return kernelsSeen[k.name]; });
    var cases = allCases.filter(function (c) { return casesSeen[c]; });
    $("summary").textContent = runs.length + " run(s) with results over " + allKernels.length + " kernel(s); shown: " +
        nres + " result(s), " + nfail + " failing, " + kernels.length + " kernel(s), " + cases.length + " case(s)";
    drawMatrix(kernels, cases, cells);
    drawRates(kernels, cases, cells);
    drawPlots(kernels, cases, cells);
    $("details").style.display = "none";
    checkLayout();
  }

  function header(table, kernels, corner) {
    var groups = el("tr"), names = el("tr");
    groups.appendChild(el("th", {rowspan: 2}, corner));
    var i = 0;
    while (i < kernels.length) {
      var j = i;
      while (j < kernels.length && kernels[j].flavour === kernels[i].flavour) j++;
      groups.appendChild(el("th", {"class": "flavour", colspan: j - i}, kernels[i].flavour || "other"));
      i = j;
    }
    kernels.forEach(function (k) {
      var th = el("th", {"class": "k", title: k.name + (k.upstream ? " (" + k.upstream + ")" : "")});
      th.appendChild(el("span", {"class": "lbl"}, k.name));
      names.appendChild(th);
    });
    table.appendChild(groups);
    table.appendChild(names);
  }
  function latest(list) {
    return list.slice().sort(function (a, b) {
      return (a.run.run.started_at || "") < (b.run.run.started_at || "") ? -1 : 1;
    })[list.length - 1];
  }
  function aggregate(list) {
    var o = list.map(function (x) { return x.c.outcome; });
    if (o.indexOf("FAIL") >= 0) return "FAIL";
    if (o.indexOf("PASS") >= 0) return "PASS";
    return o[0];
  }
  // A kernel x case table: fill(k, ck, list) makes the cell of a case's results on a kernel.
  function grid(id, kernels, cases, cells, fill) {
    var table = $(id);
    table.innerHTML = "";
    header(table, kernels, "case \\ kernel");
    cases.forEach(function (ck) {
      var tr = el("tr");
      tr.appendChild(el("th", {"class": "case"}, ck));
      kernels.forEach(function (k) {
        var list = cells[k.name + "\u0000" + ck];
        tr.appendChild(list ? fill(k, ck, list) : el("td", {"class": "none"}, "-"));
      });
      table.appendChild(tr);
    });
  }
  function drawMatrix(kernels, cases, cells) {
    grid("matrix", kernels, cases, cells, function (k, ck, list) {
      var fails = list.filter(function (x) { return x.c.outcome === "FAIL"; }).length;
      var td = el("td", {"class": "cell " + aggregate(list), "data-kernel": k.name, "data-case": ck});
      td.appendChild(el("b", {}, fails + "/" + list.length));
      td.appendChild(el("small", {}, "latest " + latest(list).c.outcome));
      if (list.some(function (x) { return x.c.detectors_armed === false; }))
        td.appendChild(el("span", {"class": "nodet"}, "no detector"));
      if (list.some(function (x) { return x.c.fault_injected; }))
        td.appendChild(el("span", {"class": "nodet"}, "fault injected (test)"));
      if (list.some(function (x) { return disagrees(x.c); }))
        td.appendChild(el("span", {"class": "nodet"}, "disagrees with the package's changelog"));
      td.addEventListener("click", function () { show(k.name, ck, list); });
      return td;
    });
  }
  function drawRates(kernels, cases, cells) {
    grid("rates", kernels, cases, cells, function (k, ck, list) {
      var fr = 0, it = 0, fi = 0;
      list.forEach(function (x) { if (x.c.outcome === "FAIL") fr++; it += x.c.iterations || 0; fi += x.c.failures || 0; });
      var td = el("td", {"class": fr ? "FAIL" : "PASS"});
      td.appendChild(el("b", {}, Math.round(100 * fr / list.length) + "%"));
      td.appendChild(el("small", {}, fr + "/" + list.length + " runs"));
      td.appendChild(el("small", {}, fi + "/" + it + " it."));
      return td;
    });
  }
  // A verdict against what the package's changelog says of the fix.
  function disagrees(c) {
    return (c.outcome === "FAIL" && c.kernel_fix_state === "carried") ||
           (c.outcome === "PASS" && c.kernel_fix_state === "lacking");
  }
  function show(k, ck, list) {
    var d = $("details");
    d.innerHTML = "";
    d.style.display = "block";
    d.appendChild(el("h2", {}, ck + " on " + k));
    var fixes = list.length ? (data.fixes || {})[list[0].c.name] : null;
    if (fixes && fixes.length)
      d.appendChild(el("p", {"class": "fixes"}, "fixed upstream by: " + fixes.map(function (f) {
        return f.hash.substring(0, 12) + " (\"" + f.subject + "\")";
      }).join(", ")));
    list.forEach(function (x) {
      var c = x.c, r = x.run;
      var p = el("p", {id: "result-" + (r.run.id !== undefined ? r.run.id : r.run.uid) + "-" + key(c)});
      p.appendChild(el("b", {}, runId(r) + " "));
      p.appendChild(document.createTextNode(c.outcome + (c.kind ? " (" + c.kind + ")" : "") + " " +
          (r.run.started_at || "") + ": " + c.iterations + " iterations, " + (c.duration_s || 0).toFixed(1) + " s" +
          (typeof c.first_failure_s === "number" ? ", first failure after " + c.first_failure_s.toFixed(2) + " s" : "") +
          (c.reason ? " - " + c.reason : "") + (c.detectors_armed === false ? " [ran WITHOUT its race detector]" : "") +
          (c.kernel_fix ? "; the package " + c.kernel_fix : "")));
      if (disagrees(c)) p.appendChild(el("span", {"class": "nodet"}, "the verdict disagrees with the package's changelog"));
      if ((c.events || []).some(function (e) { return (e.detail && e.detail.program) || (e.context && e.context.program); }))
        p.appendChild(el("code", {"class": "replay"}, " replay: diorace results findings " + (r.run.id !== undefined ? r.run.id : "RUN") +
            " --out DIR; diorace replay DIR/FILE"));
      if (r.vm && r.vm.console_log) {
        p.appendChild(document.createTextNode(" "));
        p.appendChild(el("a", {href: "file://" + r.vm.console_log}, "console log"));
      }
      d.appendChild(p);
      (c.events || []).forEach(function (ev) {
        var body = ev.type === "corruption" ? ev.report : ev.text;
        if (body) d.appendChild(el("pre", {}, "[" + ev.type + (ev.unrelated ? ", unrelated" : "") + "] " + body));
      });
    });
  }
  var NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // One chart per case: kernels on the y axis (one 18 px row each, so any
  // number of kernels stays readable), seconds on the x axis.
  function drawPlots(kernels, cases, cells) {
    var plots = $("plots"), drawn = 0;
    plots.innerHTML = "";
    cases.forEach(function (ck) {
      var pts = [], maxT = 0, rows = [];
      kernels.forEach(function (k) {
        var mine = [];
        (cells[k.name + "\u0000" + ck] || []).forEach(function (x) {
          if (x.c.outcome === "FAIL" && typeof x.c.first_failure_s === "number") mine.push(x.c.first_failure_s);
        });
        if (!mine.length) return;
        rows.push(k.name);
        mine.forEach(function (t) { pts.push({row: rows.length - 1, t: t}); maxT = Math.max(maxT, t); });
      });
      if (!pts.length) return;
      var L = 230, R = 20, top = 24, rowH = 18, W = 520, H = top + rowH * rows.length + 30;
      var s = svg("svg", {width: W, height: H, role: "img"});
      s.appendChild(svg("text", {x: 0, y: 14}, ck + ": seconds to first detection"));
      var x0 = L, x1 = W - R, ymax = maxT > 0 ? maxT * 1.1 : 1, base = top + rowH * rows.length;
      s.appendChild(svg("line", {x1: x0, y1: base, x2: x1, y2: base, stroke: "#444"}));
      s.appendChild(svg("line", {x1: x0, y1: top, x2: x0, y2: base, stroke: "#444"}));
      for (var i = 0; i <= 4; i++) {
        var v = ymax * i / 4, x = x0 + (x1 - x0) * i / 4;
        s.appendChild(svg("text", {x: x, y: base + 14, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle",
                                   "class": "lbl"}, v < 10 ? v.toPrecision(2) : v.toFixed(0)));
      }
      rows.forEach(function (name, ri) {
        var y = top + rowH * ri + rowH / 2;
        if (ri % 2) s.appendChild(svg("rect", {x: x0, y: y - rowH / 2, width: x1 - x0, height: rowH, fill: "#f3f3f3"}));
        var t = svg("text", {x: L - 6, y: y + 4, "text-anchor": "end", "class": "lbl"},
                    name.length > 34 ? name.slice(0, 33) + "\u2026" : name);
        t.appendChild(svg("title", {}, name));
        s.appendChild(t);
      });
      pts.forEach(function (p) {
        var x = x0 + (x1 - x0) * (p.t / ymax), y = top + rowH * p.row + rowH / 2;
        s.appendChild(svg("circle", {cx: x, cy: y, r: 4, fill: "#c00", "fill-opacity": 0.6}));
      });
      var box = el("div", {"class": "plot"});
      box.appendChild(s);
      plots.appendChild(box);
      drawn++;
    });
    if (!drawn) plots.textContent = "no failures with a detection time among the results shown";
  }
  function drawSeries() {
    var t = $("series"), rows = data.series || [];
    if (!rows.length) {
      var none = el("tr");
      none.appendChild(el("td", {}, "no Debian series among these runs"));
      t.appendChild(none);
      return;
    }
    var h = el("tr");
    ["case", "series", "newest package it failed on", "first package it passed on"].forEach(function (x) {
      h.appendChild(el("th", {}, x));
    });
    t.appendChild(h);
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("th", {"class": "case"}, r["case"]));
      tr.appendChild(el("td", {}, r.series));
      tr.appendChild(el("td", {"class": r.newest_fail ? "FAIL" : "none"}, r.newest_fail || "none"));
      tr.appendChild(el("td", {"class": r.first_pass ? "PASS" : "none"}, r.first_pass || "none"));
      t.appendChild(tr);
    });
  }
  function drawBisections() {
    var box = $("bisections"), bis = data.bisections || [];
    if (!bis.length) { box.textContent = "none in these results"; return; }
    bis.forEach(function (b) {
      var r = b.result || {};
      box.appendChild(el("p", {}, "bisection " + b.id + " of " + b["case"] + ": " + b.status +
          (r.first ? ", first " + (r.direction || "") + " kernel " + r.first : "") +
          (typeof r.confidence === "number" ? " (confidence " + r.confidence.toFixed(4) + ")" : "") +
          ", " + b.runs + " run(s)"));
      var t = el("table", {"class": "grid"}), h = el("tr");
      ["kernel", "failing runs / runs", "p estimate", "verdict"].forEach(function (x) { h.appendChild(el("th", {}, x)); });
      t.appendChild(h);
      (r.decisions || []).forEach(function (d) {
        var tr = el("tr");
        tr.appendChild(el("th", {"class": "case"}, d.kernel));
        tr.appendChild(el("td", {}, d.failures + "/" + d.runs));
        tr.appendChild(el("td", {}, d.runs ? (d.failures / d.runs).toFixed(2) : "-"));
        tr.appendChild(el("td", {"class": d.verdict === "fail" || d.verdict === "bad" ? "FAIL" : "PASS"}, d.verdict));
        t.appendChild(tr);
      });
      box.appendChild(t);
    });
  }
  function drawPending() {
    var ul = $("pending");
    if (!pending.length) { ul.appendChild(el("li", {}, "none")); return; }
    pending.forEach(function (r) {
      ul.appendChild(el("li", {}, runId(r) + " " + r.run.status + " (" + r.run.mode +
          (r.run.label ? " " + r.run.label : "") + "), started " + (r.run.started_at || "?") + ", " +
          r.cases.length + " case(s)" + (r.error ? ": " + r.error : "")));
    });
  }
  // The page checks its own layout: labels in one group (a table's kernel
  // names, a chart's axis labels) must not overlap. The browser test reads
  // <body data-overlaps>.
  function checkLayout() {
    var groups = [];
    ["matrix", "rates"].forEach(function (id) { groups.push($(id).querySelectorAll(".lbl")); });
    document.querySelectorAll("#plots svg").forEach(function (s) { groups.push(s.querySelectorAll(".lbl")); });
    var bad = [];
    groups.forEach(function (g) {
      var boxes = Array.prototype.map.call(g, function (e) { return {e: e, b: e.getBoundingClientRect()}; });
      for (var i = 0; i < boxes.length; i++)
        for (var j = i + 1; j < boxes.length; j++) {
          var a = boxes[i].b, b = boxes[j].b;
          if (a.width && b.width && a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 &&
              b.top < a.bottom - 0.5)
            bad.push(boxes[i].e.textContent + " / " + boxes[j].e.textContent);
        }
    });
    document.body.dataset.overlaps = String(bad.length);
    // And tables wider than the window (cut at its right edge, or scrolled).
    var wide = ["matrix", "rates"].filter(function (id) {
      var box = $(id).parentNode;
      return box.scrollWidth > box.clientWidth + 1 || $(id).getBoundingClientRect().right > window.innerWidth;
    });
    document.body.dataset.overflow = wide.join(",") || "none";
    $("layout").textContent = bad.length ? "overlapping labels: " + bad.join("; ") : "";
  }
  ["f-case", "f-kernel", "f-from", "f-to", "f-outcome"].forEach(function (id) { $(id).addEventListener("change", render); });
  // Filters from the address too (report.html#case=dma_thread&outcome=FAIL), for links.
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var p = kv.split("="), f = $("f-" + p[0]);
    if (f && p.length === 2) f.value = decodeURIComponent(p[1]);
  });
  drawPending();
  drawBisections();
  drawSeries();
  render();
  // report.html#first-failure opens the first failing result's details.
  if (/first-failure/.test(location.hash)) {
    var first = document.querySelector("#matrix td.cell.FAIL");
    if (first) first.click();
  }
  if (document.body.dataset.rendered === "no") document.body.dataset.rendered = "ok";
})();
</script>
</body></html>
)HTML";

}  // namespace

std::string to_html(const std::vector<RunRecord>& runs, const nlohmann::json& bisections) {
  // Results: complete runs with cases; runs in progress and runs that ran
  // no case are listed apart, never as kernel columns.
  nlohmann::json with = nlohmann::json::array(), pending = nlohmann::json::array();
  std::vector<KernelName> kernels;
  for (const auto& stored : runs) {
    RunRecord r = stored;
    if (r.vm && !r.vm->deb.empty())
      for (auto& c : r.cases) mark_fix_not_needed(c, r.vm->deb);
    nlohmann::json j = r;
    const bool result = r.run.status == "COMPLETE" && !r.cases.empty();
    if (!result) {
      pending.push_back(std::move(j));
      continue;
    }
    const KernelName k = parse_kernel_name(kernel_label(r), r.system.kernel.version);
    j["kernel"] = k.name;
    with.push_back(std::move(j));
    if (std::none_of(kernels.begin(), kernels.end(), [&](const KernelName& x) { return x.name == k.name; }))
      kernels.push_back(k);
  }
  std::sort(kernels.begin(), kernels.end(), kernel_before);
  nlohmann::json ks = nlohmann::json::array();
  for (const auto& k : kernels) ks.push_back({{"name", k.name}, {"flavour", k.flavour}, {"upstream", k.upstream}});
  // The fixing commits the cases declare (their metadata), for the reader
  // of a FAIL: which commit the kernel lacks.
  nlohmann::json fixes = nlohmann::json::object();
  for (const auto& r : runs)
    for (const auto& c : r.cases)
      if (const CaseInfo* info = Registry::instance().find(c.name); info && !fixes.contains(c.name)) {
        fixes[c.name] = nlohmann::json::array();
        for (const auto& f : info->fixed_by) fixes[c.name].push_back({{"hash", f.hash}, {"subject", f.subject}});
      }
  // Per case and series its controls name: the newest package it failed on
  // and the first it passed on, among these runs.
  nlohmann::json series = nlohmann::json::array();
  for (const auto& [name, unused] : fixes.items()) {
    const CaseInfo* info = Registry::instance().find(name);
    std::vector<std::pair<std::string, std::string>> outcomes;
    for (const auto& r : runs)
      if (r.run.status == "COMPLETE" && r.vm && !r.vm->deb.empty())
        for (const auto& c : r.cases)
          if (c.name == name) outcomes.emplace_back(r.vm->deb, std::string(to_string(c.verdict)));
    for (const auto& h : series_history(*info, outcomes))
      if (!h.newest_fail.empty() || !h.first_pass.empty())
        series.push_back({{"case", name}, {"series", h.series}, {"newest_fail", h.newest_fail},
                          {"first_pass", h.first_pass}});
  }
  const nlohmann::json doc = {{"runs", with}, {"pending", pending}, {"kernels", ks}, {"fixes", fixes},
                              {"series", series},
                              {"bisections", bisections.is_array() ? bisections : nlohmann::json::array()}};
  std::string data = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
