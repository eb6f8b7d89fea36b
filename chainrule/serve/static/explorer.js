// The explorer: an expression, a value and a slider per input, and the chain rule live.
"use strict";
var Explorer = (function () {
  var $ = function (id) { return document.getElementById(id); };
  var state = { expr: "sin(x^2)", point: {}, wrt: null, inputs: [] };
  var base = [], last = null, seq = 0, shown = 0, busy = false, pending = false, curveData = null;

  function num(v) {  // 10 significant digits, as the command line prints
    if (v === null || v === undefined) return "undefined";
    return String(Number(v.toPrecision(10)));
  }
  function paren(s) { return s.charAt(0) === "-" ? "(" + s + ")" : s; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function saveUrl() {
    var q = new URLSearchParams();
    q.set("expr", state.expr);
    var at = state.inputs.map(function (n) { return n + "=" + state.point[n]; }).join(",");
    if (at) q.set("at", at);
    if (state.wrt) q.set("wrt", state.wrt);
    if (typeof App !== "undefined" && App.tab() && App.tab() !== "explorer") q.set("tab", App.tab());
    history.replaceState(null, "", "?" + q.toString());
  }

  function buildInputs(names) {
    var box = $("inputs");
    if (names.join(",") === state.inputs.join(",")) return;
    box.textContent = "";
    names.forEach(function (n) {
      if (!(n in state.point)) state.point[n] = 1;
      var v = state.point[n], row = el("div", { class: "inrow" });
      row.appendChild(el("span", { class: "name" }, n));
      var field = el("input", { type: "number", step: "any", value: String(v), "data-testid": "point-" + n, "aria-label": n });
      var slider = el("input", { type: "range", step: "0.01", "data-testid": "slider-" + n, "aria-label": n + " slider" });
      widen(slider, v);
      slider.value = String(v);
      field.addEventListener("input", function () {
        var x = parseFloat(field.value);
        if (!isFinite(x)) return;
        widen(slider, x); slider.value = String(x); state.point[n] = x; request();
      });
      slider.addEventListener("input", function () {
        var x = parseFloat(slider.value); field.value = String(x); state.point[n] = x; request();
      });
      row.appendChild(field); row.appendChild(slider); box.appendChild(row);
    });
    state.inputs = names.slice();
    var sel = $("wrt"); sel.textContent = "";
    names.forEach(function (n) { sel.appendChild(el("option", { value: n }, n)); });
    if (names.indexOf(state.wrt) < 0) state.wrt = names[0] || null;
    sel.value = state.wrt || "";
  }
  function widen(slider, v) {
    var lo = parseFloat(slider.min), hi = parseFloat(slider.max);
    if (!(v >= lo && v <= hi) || isNaN(lo)) {
      var r = Math.max(5, Math.abs(v) * 0.5);
      slider.min = String(Math.floor(v - r)); slider.max = String(Math.ceil(v + r));
    }
  }
  function setPoint(n, v) {
    state.point[n] = v;
    var f = document.querySelector('[data-testid="point-' + CSS.escape(n) + '"]');
    var s = document.querySelector('[data-testid="slider-' + CSS.escape(n) + '"]');
    if (f) f.value = String(Number(v.toPrecision(12)));
    if (s) { widen(s, v); s.value = String(v); }
  }

  // One request at a time; the latest state is sent once the one in flight returns.
  async function request() {
    if (busy) { pending = true; return; }
    busy = true; pending = false;
    var my = ++seq, body = { expression: state.expr, point: Object.assign({}, state.point), wrt: state.wrt };
    try {
      var data = await App.post("/api/explain", body);
      if (my > shown) { shown = my; render(data); saveUrl(); }
      // The derivative shown is this state's: an earlier error must not stay beside it
      // while the curve is computed.
      $("explain-error").textContent = "";
      var curve = await App.post("/api/curve", body);
      if (my === shown) { curveData = curve; drawCurve(); }
    } catch (err) {
      $("explain-error").textContent = err.message;
    } finally {
      busy = false;
      saveUrl();
      if (pending) request();
    }
    return last;
  }

  function render(d) {
    last = d;
    buildInputs(d.inputs);
    document.querySelectorAll(".wrt-name").forEach(function (s) { s.textContent = d.wrt; });
    $("deriv-label").textContent = d.label;
    $("derivative").textContent = num(d.derivative);
    $("fvalue").textContent = d.output + " = " + num(d.value) + (d.agrees ? "" : "  (formula and engine disagree: see the notes)");
    var tb = $("links"); tb.textContent = "";
    d.links.forEach(function (lk) {
      var tr = el("tr", { "data-testid": "link", "data-edge": lk.edge || "" });
      tr.appendChild(el("td", {}, lk.label));
      tr.appendChild(el("td", { class: "mono" }, lk.formula || ""));
      tr.appendChild(el("td", { class: "num" }, num(lk.value)));
      tr.addEventListener("mouseenter", function () { light([lk.edge]); });
      tr.addEventListener("mouseleave", function () { light(base); });
      tb.appendChild(tr);
    });
    var box = $("paths"); box.textContent = "";
    d.paths.forEach(function (p, i) {
      var nums = p.values.map(function (v) { return paren(num(v)); }).join(" × ");
      var row = el("div", { class: "path", "data-testid": "path" },
        "path " + (i + 1) + ": " + p.links.join(" · ") + " = " + nums + " = " + num(p.value));
      row.addEventListener("mouseenter", function () { light(p.edges); row.classList.add("on"); });
      row.addEventListener("mouseleave", function () { light(base); row.classList.remove("on"); });
      box.appendChild(row);
    });
    var sum = d.paths.map(function (p) { return paren(num(p.value)); }).join(" + ");
    box.appendChild(el("div", { class: "pathsum", "data-testid": "path-sum" },
      d.label + " = " + (d.paths.length > 1 ? "sum over " + d.paths.length + " paths = " + sum + " = " : "") + num(d.derivative)));
    $("graph").innerHTML = d.svg;  // drawn by the server from escaped text
    // One path: it is the derivative, lit from the start; several: hover one to light it.
    base = d.paths.length === 1 ? d.paths[0].edges : [];
    light(base);
    if (d.notes.length) $("fvalue").textContent += "  — " + d.notes.join(" ");
  }
  function light(edges) {
    document.querySelectorAll("#graph .edge.lit").forEach(function (e) { e.classList.remove("lit"); });
    (edges || []).forEach(function (id) { var e = id && document.getElementById(id); if (e) e.classList.add("lit"); });
  }

  function drawCurve() {
    if (!curveData || !last) return;
    var c = curveData, x0 = last.point[c.wrt], f0 = last.value, d0 = last.derivative;
    var tangent = c.x.map(function (x) { return f0 + d0 * (x - x0); });
    Plot.lines($("curve"), {
      series: [
        { x: c.x, y: c.f, color: "#2563eb" },
        { x: c.x, y: c.df, color: "#ea580c" },
        { x: c.x, y: tangent, color: "#6b7280", dash: [6, 4], width: 1.5, noscale: true },
      ],
      points: [{ x: x0, y: f0, color: "#dc2626" }],
    });
  }

  // x <- x - eta * f'(x), with f'(x) from the engine at the current point.
  async function descend(times) {
    var eta = parseFloat($("eta").value);
    if (!isFinite(eta) || !last) return;
    for (var k = 0; k < times; k++) {
      var x = state.point[last.wrt], g = last.derivative;
      if (g === null) break;
      var nx = x - eta * g;
      $("gd-log").textContent = last.wrt + ": " + num(x) + " − " + eta + " × " + num(g) + " = " + num(nx);
      setPoint(last.wrt, nx);
      while (busy) await new Promise(function (r) { setTimeout(r, 20); });
      await request();
      if (times > 1) await new Promise(function (r) { setTimeout(r, 120); });
    }
  }

  async function stepThrough(box) {
    box.textContent = "Loading…";
    try {
      var d = await App.post("/api/stepthrough", { expression: state.expr, point: state.point, wrt: state.wrt });
      box.innerHTML = d.html;  // made by the server from escaped text; its script is ours
      var root = box.querySelector(".crx");
      crxStepThrough(root, JSON.parse(root.querySelector("script.crx-steps").textContent), root.id + "-");
      root.focus({ preventScroll: true });
    } catch (err) { box.textContent = err.message; }
  }

  var timer = null;
  function start(params) {
    if (params.get("expr")) state.expr = params.get("expr");
    (params.get("at") || "").split(",").forEach(function (kv) {
      var p = kv.split("="); if (p.length === 2 && isFinite(parseFloat(p[1]))) state.point[p[0].trim()] = parseFloat(p[1]);
    });
    state.wrt = params.get("wrt");
    $("expr").value = state.expr;
    $("expr").addEventListener("input", function () {
      state.expr = $("expr").value;
      clearTimeout(timer); timer = setTimeout(request, 150);
    });
    $("wrt").addEventListener("change", function () { state.wrt = $("wrt").value; request(); });
    document.querySelectorAll(".example").forEach(function (b) {
      b.addEventListener("click", function () {
        state.expr = b.textContent; $("expr").value = state.expr;
        (b.dataset.point || "").split(",").forEach(function (kv) {
          var p = kv.split("="); if (p.length === 2) state.point[p[0]] = parseFloat(p[1]);
        });
        state.inputs = []; request();
      });
    });
    $("gd-step").addEventListener("click", function () { descend(1); });
    $("gd-run").addEventListener("click", function () { descend(20); });
    window.addEventListener("resize", drawCurve);
    request();
  }
  return { start: start, stepThrough: stepThrough, saveUrl: saveUrl, request: request };
})();
