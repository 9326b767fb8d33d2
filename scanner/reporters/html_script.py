"""The script of the ``html`` report, as constant text.

Constant so the page's Content-Security-Policy can allow exactly it by hash
(:data:`scanner.reporters.html_report.CSP`). It reads two data blocks:
``ps-meta`` (labels, the policy, rule and target tables, the summary) and
``ps-results`` (one JSON array per line, see ``html_report._row``). It never
writes data as markup: every text goes in with ``textContent`` or as an
attribute value set through the DOM.

How it stays responsive on 410,000 results: the lines are indexed in slices
of about 40 ms (offsets, target, rule, status into typed arrays; a line is
``JSON.parse``d only when its row is shown); filters loop over the typed
arrays; the search runs ``indexOf`` over the lower-cased data text once per
query; the table shows 50 rows a page, the matrix 40 targets a page.
"""

from __future__ import annotations

SCRIPT = r"""
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("ps-meta").textContent);
  var L = meta.labels, STATUS = meta.statuses, SEV = meta.severities;
  var policies = meta.policies, rules = meta.rules, targets = meta.targets.map(function (t) { return t[0]; });
  var raw = document.getElementById("ps-results").textContent;
  var PAGE = 50, MPAGE = 40;
  var cap = Math.max(16, meta.summary.total + 1), n = 0;
  var T = new Int32Array(cap), R = new Int32Array(cap), S = new Uint8Array(cap);
  var OFF = new Float64Array(cap), END = new Float64Array(cap);
  var targetIndex = new Map(), ruleIndex = new Map();
  targets.forEach(function (t, i) { targetIndex.set(t, i); });
  rules.forEach(function (r, i) { ruleIndex.set(JSON.stringify([policies[r[0]][0], r[1], r[2], r[3], r[4]]), i); });

  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (m, k) { return k in v ? String(v[k]) : m; }); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  var SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function sevOf(rule) { var i = SEV.indexOf(rules[rule][3]); return i < 0 ? 0 : i; }
  function statusLabel(s) { return L["status_" + STATUS[s]]; }
  function num(x) { return x.toLocaleString("en-US"); }

  function grow() {
    cap *= 2;
    var t = new Int32Array(cap); t.set(T); T = t;
    var r = new Int32Array(cap); r.set(R); R = r;
    var s = new Uint8Array(cap); s.set(S); S = s;
    var o = new Float64Array(cap); o.set(OFF); OFF = o;
    var e = new Float64Array(cap); e.set(END); END = e;
  }

  function unknownRow(start, end) {
    var row = JSON.parse(raw.slice(start, end)), x = row[10];
    var ti = targetIndex.get(x[0]);
    if (ti === undefined) { ti = targets.length; targets.push(x[0]); targetIndex.set(x[0], ti); }
    var pi = -1;
    for (var i = 0; i < policies.length; i++) if (policies[i][0] === x[1]) pi = i;
    if (pi < 0) { pi = policies.length; policies.push([x[1], x[1], ""]); }
    var key = JSON.stringify([x[1], x[2], x[3], x[4], x[5]]), ri = ruleIndex.get(key);
    if (ri === undefined) {
      ri = rules.length; ruleIndex.set(key, ri);
      rules.push([pi, x[2], x[3], x[4], x[5], "", "", "", [], []]);
    }
    return [ti, ri];
  }

  // Index the lines in slices, yielding to the browser between them.
  var head = /\[(-?\d+),(-?\d+),(\d+),(\d+),/y, pos = 0, progress = document.getElementById("ps-progress");
  function indexSome() {
    var stop = performance.now() + 40, len = raw.length;
    while (pos < len && performance.now() < stop) {
      for (var k = 0; k < 2000 && pos < len; k++) {
        var end = raw.indexOf("\n", pos);
        if (end < 0) end = len;
        if (end > pos + 1) {
          head.lastIndex = pos;
          var m = head.exec(raw);
          if (n === cap) grow();
          var t, r;
          if (m && m[1] !== "-1") { t = +m[1]; r = +m[2]; } else { var u = unknownRow(pos, end); t = u[0]; r = u[1]; }
          T[n] = t; R[n] = r; S[n] = m ? +m[3] : JSON.parse(raw.slice(pos, end))[2]; OFF[n] = pos; END[n] = end; n++;
        }
        pos = end + 1;
      }
    }
    if (pos < len) {
      progress.textContent = fmt(L.loading, {done: num(n), total: num(meta.summary.total)});
      setTimeout(indexSome, 0);
    } else {
      progress.textContent = "";
      ready();
    }
  }

  // ---- aggregates and charts ----
  var bySev, byRule, failsByRule, errorsByRule, tFail, tErr, tOrder, ruleCols;
  function aggregate() {
    bySev = SEV.map(function () { return STATUS.map(function () { return 0; }); });
    failsByRule = new Int32Array(rules.length); errorsByRule = new Int32Array(rules.length);
    byRule = new Int32Array(rules.length * STATUS.length);
    tFail = new Int32Array(targets.length); tErr = new Int32Array(targets.length);
    var used = new Uint8Array(rules.length);
    for (var i = 0; i < n; i++) {
      var s = S[i], r = R[i];
      bySev[sevOf(r)][s]++; used[r] = 1; byRule[r * STATUS.length + s]++;
      if (s === 1) { failsByRule[r]++; tFail[T[i]]++; } else if (s === 2) { errorsByRule[r]++; tErr[T[i]]++; }
    }
    ruleCols = [];
    for (var j = 0; j < rules.length; j++) if (used[j]) ruleCols.push(j);
    ruleCols.sort(function (a, b) {
      return rules[a][0] - rules[b][0] || (rules[a][1] < rules[b][1] ? -1 : rules[a][1] > rules[b][1] ? 1 : 0);
    });
    tOrder = targets.map(function (_, i) { return i; });
    tOrder.sort(function (a, b) {
      return tFail[b] - tFail[a] || tErr[b] - tErr[a] || (targets[a] < targets[b] ? -1 : 1);
    });
  }

  function hbar(label, counts, max, right, onclick, title) {
    var row = el("div", "hbar" + (onclick ? " click" : ""));
    var l = el("span", "lbl", label);
    l.title = title || label;
    row.appendChild(l);
    var g = svg("svg", {viewBox: "0 0 1000 16", preserveAspectRatio: "none", role: "img"});
    var x = 0;
    counts.forEach(function (c) {
      if (!c[1]) return;
      var w = max ? 1000 * c[1] / max : 0;
      var rect = svg("rect", {x: x.toFixed(2), y: 0, width: w.toFixed(2), height: 16, "class": "f-" + c[0]});
      var tt = svg("title", {}); tt.textContent = L["status_" + c[0]] + ": " + num(c[1]);
      rect.appendChild(tt); g.appendChild(rect); x += w;
    });
    row.appendChild(g);
    row.appendChild(el("span", "cnt", right));
    if (onclick) row.addEventListener("click", onclick);
    return row;
  }
  function legend(statuses) {
    var box = el("div", "legend");
    statuses.forEach(function (s) {
      var item = el("span");
      item.appendChild(el("span", "sw st-" + s));
      item.appendChild(document.createTextNode(L["status_" + s]));
      box.appendChild(item);
    });
    return box;
  }
  function drawSeverity() {
    var box = clear(document.getElementById("ps-severity")), max = 1;
    bySev.forEach(function (c) { max = Math.max(max, c.reduce(function (a, b) { return a + b; }, 0)); });
    for (var v = SEV.length - 1; v >= 0; v--) {
      var c = bySev[v], total = c.reduce(function (a, b) { return a + b; }, 0);
      var parts = [1, 2, 4, 0, 3].map(function (s) { return [STATUS[s], c[s]]; });
      (function (v) {
        box.appendChild(hbar(L["severity_" + SEV[v]], parts, max, num(total), total ? function () {
          setOnly(state.sev, v); update(true);
        } : null));
      })(v);
    }
    box.appendChild(legend(["fail", "error", "waived", "pass", "skip"]));
  }
  function drawRanking() {
    var box = clear(document.getElementById("ps-ranking"));
    var ranked = [];
    for (var r = 0; r < rules.length; r++) if (failsByRule[r]) ranked.push(r);
    ranked.sort(function (a, b) {
      return failsByRule[b] - failsByRule[a] || errorsByRule[b] - errorsByRule[a] || a - b;
    });
    if (!ranked.length) { box.appendChild(el("p", "help", L.no_failing_rules)); return; }
    var max = targets.length || 1;
    ranked.slice(0, 15).forEach(function (r) {
      var label = rules[r][1] + " " + rules[r][2];
      box.appendChild(hbar(label, [["fail", failsByRule[r]], ["error", errorsByRule[r]]], max,
        fmt(L.targets_affected, {n: num(failsByRule[r])}), function () {
          ruleSel.value = String(r); setOnly(state.status, 1); update(true);
        }, policies[rules[r][0]][0] + " / " + label));
    });
    box.appendChild(legend(["fail", "error"]));
  }

  var mpage = 0, cellStatus = null;
  function drawMatrix() {
    var box = clear(document.getElementById("ps-matrix"));
    if (!cellStatus) {
      cellStatus = new Map();
      for (var i = 0; i < n; i++) cellStatus.set(T[i] * 65536 + R[i], S[i] + 1);
    }
    var total = tOrder.length, first = mpage * MPAGE, shown = tOrder.slice(first, first + MPAGE);
    var longest = shown.reduce(function (a, t) { return Math.max(a, targets[t].length); }, 0);
    var allText = fmt(L.matrix_all, {n: num(targets.length)});
    var labelW = 10 + 7 * Math.max(allText.length, Math.min(40, Math.max(6, longest)));
    var cw = Math.max(8, Math.min(22, Math.floor(1000 / Math.max(1, ruleCols.length)))), ch = 16;
    var top = 46, w = labelW + cw * ruleCols.length + 4, h = top + ch * shown.length + 4;
    var g = svg("svg", {width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img"});
    // the whole fleet first: for each rule, the share of its targets in each status
    var all = svg("text", {x: labelW - 6, y: 24, "text-anchor": "end"});
    all.textContent = allText;
    g.appendChild(all);
    ruleCols.forEach(function (r, col) {
      var sum = 0, y = 0, k;
      for (k = 0; k < STATUS.length; k++) sum += byRule[r * STATUS.length + k];
      [1, 2, 4, 0, 3].forEach(function (k) {
        var c = byRule[r * STATUS.length + k];
        if (!c) return;
        var hh = 38 * c / sum;
        var rect = svg("rect", {x: labelW + col * cw + 1, y: (38 - y - hh).toFixed(2), width: cw - 2,
          height: hh.toFixed(2), "class": "f-" + STATUS[k]});
        var tt = svg("title", {});
        tt.textContent = policies[rules[r][0]][0] + " / " + rules[r][1] + ": " + statusLabel(k) + " " + num(c);
        rect.appendChild(tt); g.appendChild(rect); y += hh;
      });
    });
    shown.forEach(function (t, row) {
      var y = top + row * ch;
      var label = svg("text", {x: labelW - 6, y: y + 12, "text-anchor": "end"});
      label.textContent = targets[t].length > 40 ? targets[t].slice(0, 39) + "…" : targets[t];
      g.appendChild(label);
      ruleCols.forEach(function (r, col) {
        var s = cellStatus.get(t * 65536 + r);
        var rect = svg("rect", {x: labelW + col * cw, y: y, width: cw, height: ch,
          "class": "cell f-" + (s ? STATUS[s - 1] : "none")});
        var tt = svg("title", {});
        tt.textContent = targets[t] + " · " + policies[rules[r][0]][0] + " / " + rules[r][1] + ": " +
          (s ? statusLabel(s - 1) : "—");
        rect.appendChild(tt);
        rect.addEventListener("click", function () {
          targetBox.value = targets[t]; ruleSel.value = String(r);
          STATUS.forEach(function (_, k) { state.status[k] = true; });
          update(true);
        });
        g.appendChild(rect);
      });
    });
    var wrap = el("div", "matrix"); wrap.appendChild(g); box.appendChild(wrap);
    box.appendChild(legend(STATUS));
    if (total > MPAGE) {
      box.appendChild(pager(mpage, total, MPAGE, function (p) { mpage = p; drawMatrix(); }, "matrix_page"));
    }
  }

  function pager(page, total, size, go, label) {
    var bar = el("div", "pager");
    var prev = el("button", null, L.previous), next = el("button", null, L.next);
    prev.type = next.type = "button";
    prev.disabled = page === 0; next.disabled = (page + 1) * size >= total;
    prev.addEventListener("click", function () { go(page - 1); });
    next.addEventListener("click", function () { go(page + 1); });
    bar.appendChild(prev); bar.appendChild(next);
    bar.appendChild(el("span", null, fmt(L[label], {first: num(page * size + 1),
      last: num(Math.min(total, (page + 1) * size)), total: num(total)})));
    return bar;
  }

  // ---- filters and the table ----
  // problems first: fail, error and waived, or everything when there are none
  function defaultStatus() {
    var some = (meta.summary.fail || 0) + (meta.summary.error || 0) + (meta.summary.waived || 0) > 0;
    return STATUS.map(function (s) { return !some || s === "fail" || s === "error" || s === "waived"; });
  }
  var state = {status: defaultStatus(), sev: SEV.map(function () { return true; })};
  var polSel, ruleSel, targetBox, searchBox, matches = new Int32Array(0), page = 0, lower = null;
  function setOnly(arr, k) { for (var i = 0; i < arr.length; i++) arr[i] = i === k; }
  function chip(cls, text, get, set) {
    var b = el("button", "chip " + cls, text);
    b.type = "button";
    function paint() { b.setAttribute("aria-pressed", get() ? "true" : "false"); }
    b.addEventListener("click", function () { set(!get()); update(true); });
    chips.push(paint);
    return b;
  }
  var chips = [];
  function buildFilters() {
    var box = clear(document.getElementById("ps-filters"));
    var st = el("div", "chips");
    var counts = meta.summary;
    STATUS.forEach(function (s, k) {
      st.appendChild(chip("st-" + s, L["status_" + s] + " (" + num(counts[s] || 0) + ")",
        function () { return state.status[k]; }, function (v) { state.status[k] = v; }));
    });
    box.appendChild(st);
    var sv = el("div", "chips");
    SEV.forEach(function (s, k) {
      sv.appendChild(chip("sev", L["severity_" + s],
        function () { return state.sev[k]; }, function (v) { state.sev[k] = v; }));
    });
    box.appendChild(sv);
    polSel = el("select"); polSel.setAttribute("aria-label", L.policy);
    polSel.appendChild(new Option(L.all_policies, ""));
    policies.forEach(function (p, i) { polSel.appendChild(new Option(p[0], String(i))); });
    ruleSel = el("select"); ruleSel.setAttribute("aria-label", L.rule);
    ruleSel.appendChild(new Option(L.all_rules, ""));
    ruleCols.forEach(function (r) { ruleSel.appendChild(new Option(rules[r][1] + " — " + rules[r][2], String(r))); });
    targetBox = el("input"); targetBox.type = "text"; targetBox.placeholder = L.target_filter;
    targetBox.setAttribute("aria-label", L.target);
    searchBox = el("input"); searchBox.type = "search"; searchBox.placeholder = L.search;
    searchBox.setAttribute("aria-label", L.search);
    var reset = el("button", null, L.reset); reset.type = "button";
    reset.addEventListener("click", function () {
      state.status = defaultStatus(); state.sev = SEV.map(function () { return true; });
      polSel.value = ""; ruleSel.value = ""; targetBox.value = ""; searchBox.value = ""; update(true);
    });
    [polSel, ruleSel].forEach(function (s) { s.addEventListener("change", function () { update(true); }); });
    var timer = 0;
    [targetBox, searchBox].forEach(function (s) {
      s.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { update(true); }, 200);
      });
    });
    [polSel, ruleSel, targetBox, searchBox, reset].forEach(function (e) { box.appendChild(e); });
  }

  function jsonText(q) {
    return JSON.stringify(q).slice(1, -1).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")
      .replace(/&/g, "\\u0026").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
  }
  function rowAt(p) { // the line holding offset p
    var lo = 0, hi = n - 1;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (OFF[mid] <= p) lo = mid; else hi = mid - 1; }
    return lo;
  }
  function searchMask(q) {
    var mask = new Uint8Array(n), needle = jsonText(q.toLowerCase());
    if (lower === null) lower = raw.toLowerCase();
    var tHit = new Uint8Array(targets.length), rHit = new Uint8Array(rules.length), ql = q.toLowerCase();
    targets.forEach(function (t, i) { if (t.toLowerCase().indexOf(ql) >= 0) tHit[i] = 1; });
    rules.forEach(function (r, i) {
      if ((policies[r[0]][0] + " " + r[1] + " " + r[2]).toLowerCase().indexOf(ql) >= 0) rHit[i] = 1;
    });
    var i;
    for (i = 0; i < n; i++) if (tHit[T[i]] || rHit[R[i]]) mask[i] = 1;
    if (lower.length === raw.length) {
      var p = lower.indexOf(needle);
      while (p >= 0) { i = rowAt(p); mask[i] = 1; p = lower.indexOf(needle, END[i]); }
    } else {
      for (i = 0; i < n; i++) if (!mask[i] && raw.slice(OFF[i], END[i]).toLowerCase().indexOf(needle) >= 0) mask[i] = 1;
    }
    return mask;
  }

  function update(resetPage) {
    chips.forEach(function (p) { p(); });
    var pol = polSel.value === "" ? -1 : +polSel.value, rule = ruleSel.value === "" ? -1 : +ruleSel.value;
    var tq = targetBox.value.trim().toLowerCase(), q = searchBox.value.trim();
    var tOk = null;
    if (tq) {
      tOk = new Uint8Array(targets.length);
      var exact = targets.findIndex(function (t) { return t.toLowerCase() === tq; });
      targets.forEach(function (t, i) { if (exact >= 0 ? i === exact : t.toLowerCase().indexOf(tq) >= 0) tOk[i] = 1; });
    }
    var mask = q ? searchMask(q) : null;
    var out = new Int32Array(n), m = 0;
    for (var i = 0; i < n; i++) {
      var r = R[i];
      if (!state.status[S[i]] || !state.sev[sevOf(r)]) continue;
      if (pol >= 0 && rules[r][0] !== pol) continue;
      if (rule >= 0 && r !== rule) continue;
      if (tOk && !tOk[T[i]]) continue;
      if (mask && !mask[i]) continue;
      out[m++] = i;
    }
    matches = out.subarray(0, m);
    if (resetPage) page = 0;
    drawTable();
  }

  function valueText(v) { return typeof v === "string" ? v : JSON.stringify(v); }
  function detail(i, cols) {
    var row = JSON.parse(raw.slice(OFF[i], END[i])), r = rules[R[i]];
    var tr = el("tr", "detail"), td = el("td"); td.colSpan = cols; tr.appendChild(td);
    var dl = el("dl");
    function add(label, value, cls) {
      if (value === null || value === undefined || value === "") return;
      dl.appendChild(el("dt", null, label));
      var dd = el("dd", cls);
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
      dl.appendChild(dd);
    }
    add(L.message, row[4]);
    if (row[5] !== null || row[6] !== null) {
      add(L.expected, valueText(row[5]), "mono");
      add(L.actual, valueText(row[6]), "mono");
    }
    if (row[7] && row[7].length) {
      var evs = el("div");
      row[7].forEach(function (item) {
        var box = el("div", "ev");
        Object.keys(item).forEach(function (k) {
          if (item[k] === null) return;
          var line = el("div", "mono"); line.appendChild(el("b", null, k + ": "));
          line.appendChild(document.createTextNode(valueText(item[k]))); box.appendChild(line);
        });
        evs.appendChild(box);
      });
      add(L.evidence, evs);
    }
    add(L.remediation, row[8]);
    if (row[9]) {
      add(L.waiver, fmt(L.waiver_text, {reason: row[9].reason || "", expires: row[9].expires || "—"}));
      add(L.outcome, statusLabel(row[3]));
    }
    var labels = meta.targets[T[i]] ? meta.targets[T[i]][1] : null;
    if (labels && Object.keys(labels).length) {
      add(L.target_labels, Object.keys(labels).map(function (k) { return k + "=" + labels[k]; }).join(", "));
    }
    add(L.check_type, r[4]);
    add(L.description, r[5]);
    add(L.rationale, r[6]);
    if (r[8] && r[8].length) {
      var refs = el("div");
      r[8].forEach(function (ref) {
        var url = String(ref.url || ""), line = el("div");
        if (/^https?:\/\//i.test(url)) {
          var a = el("a", null, ref.title || url); a.href = url; a.rel = "noopener noreferrer"; a.target = "_blank";
          line.appendChild(a);
        } else line.textContent = (ref.title || "") + " " + url;
        refs.appendChild(line);
      });
      add(L.references, refs);
    }
    if (r[9] && r[9].length) add(L.tags, r[9].join(", "));
    td.appendChild(dl);
    return tr;
  }

  function drawTable() {
    var box = clear(document.getElementById("ps-table"));
    var total = matches.length;
    if (!total) { box.appendChild(el("p", "help", L.no_rows)); return; }
    box.appendChild(el("p", "help", fmt(L.showing, {first: num(page * PAGE + 1),
      last: num(Math.min(total, (page + 1) * PAGE)), shown: num(total), total: num(n)}) + " " + L.details_hint));
    var table = el("table", "results"), thead = el("thead"), hr = el("tr");
    var widths = ["9%", "9%", "17%", "13%", "24%", "28%"];
    [L.status, L.severity, L.target, L.rule, L.policy_title, L.message].forEach(function (h, k) {
      var th = el("th", null, h); th.style.width = widths[k]; hr.appendChild(th);
    });
    thead.appendChild(hr); table.appendChild(thead);
    var body = el("tbody");
    for (var k = page * PAGE; k < Math.min(total, (page + 1) * PAGE); k++) {
      (function (i) {
        var r = rules[R[i]], s = S[i], tr = el("tr", "row");
        tr.dataset.row = String(i);
        var td0 = el("td");
        td0.appendChild(el("span", "badge st-" + STATUS[s], statusLabel(s)));
        tr.appendChild(td0);
        tr.appendChild(el("td", "sev-" + r[3], L["severity_" + r[3]] || r[3]));
        var tcell = el("td", "target", targets[T[i]]); tcell.title = targets[T[i]]; tr.appendChild(tcell);
        var rc = el("td", "mono", r[1]); rc.title = policies[r[0]][0] + " / " + r[1]; tr.appendChild(rc);
        var tc = el("td", null, r[2]); tc.title = r[2]; tr.appendChild(tc);
        var msg = JSON.parse(raw.slice(OFF[i], END[i]))[4];
        var mc = el("td", "msg", msg); mc.title = msg; tr.appendChild(mc);
        tr.addEventListener("click", function () {
          var next = tr.nextSibling;
          if (next && next.className === "detail") {
            body.removeChild(next); tr.classList.remove("open"); tr.setAttribute("aria-expanded", "false");
            return;
          }
          tr.classList.add("open"); tr.setAttribute("aria-expanded", "true");
          body.insertBefore(detail(i, 6), tr.nextSibling);
        });
        tr.tabIndex = 0;
        tr.setAttribute("aria-expanded", "false");
        tr.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); tr.click(); }
        });
        body.appendChild(tr);
      })(matches[k]);
    }
    table.appendChild(body); box.appendChild(table);
    if (total > PAGE) box.appendChild(pager(page, total, PAGE, function (p) { page = p; drawTable(); }, "page_of"));
  }

  function ready() {
    aggregate();
    drawSeverity();
    drawRanking();
    drawMatrix();
    buildFilters();
    update(true);
    document.documentElement.dataset.ready = "1";
  }
  setTimeout(indexSome, 0);
})();
"""
