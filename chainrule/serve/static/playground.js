// The network playground: a model on the server for this tab, trained a few steps per
// request while "Train" is on; decision regions, curves, gradient norms, and the chain
// rule for any weight.
"use strict";
var Playground = (function () {
  var $ = function (id) { return document.getElementById(id); };
  var sid = null, running = false, data = null, state = null, selected = null, opened = false;
  var SVGNS = "http://www.w3.org/2000/svg";

  function num(v, d) { return String(Number(v.toPrecision(d || 6))); }
  function err(text) { $("net-error").textContent = text || ""; }

  function spec() {
    var hidden = $("layers").value.split(",").map(function (s) { return Number(s.trim()); });
    return { dataset: $("dataset").value, hidden: hidden, activation: $("activation").value,
             lr: Number($("lr").value), batch: Number($("batch").value) };
  }

  // A new model for the settings; one at a time (a second call waits for the first).
  var resetting = null, made = null;
  function reset() {
    if (!resetting) resetting = makeModel().finally(function () { resetting = null; });
    return resetting;
  }
  // The page's own checks, so that typing a setting out of range asks no request.
  function invalid(sp) {
    if (!sp.hidden.length || sp.hidden.length > 4 || sp.hidden.some(function (n) { return !Number.isInteger(n) || n < 1 || n > 16; }))
      return "hidden layers: 1 to 4 widths, each 1 to 16, separated by commas (e.g. 8,8)";
    if (!(sp.lr > 0 && sp.lr <= 10)) return "learning rate: a number above 0, at most 10";
    if (!(Number.isInteger(sp.batch) && sp.batch >= 1 && sp.batch <= 256)) return "batch size: a whole number from 1 to 256";
    return null;
  }
  async function makeModel() {
    var problem = invalid(spec());
    if (problem) { pause(); err(problem); return; }
    pause();
    close();
    selected = null;
    $("derivation").innerHTML = '<div class="hint">Train a step, then click a weight.</div>';
    try {
      made = JSON.stringify(spec());
      data = await App.post("/api/net", spec());
      sid = data.id; state = data; err();
      draw();
    } catch (e) { sid = null; made = null; err(e.message); }
  }
  function changed() {  // a setting changed: a new model, unless it is the same as before
    if (opened && JSON.stringify(spec()) !== made) reset();
  }
  function close() {
    if (sid) navigator.sendBeacon("/api/net/" + sid + "/close");
    sid = null;
  }

  async function advance(steps) {
    if (resetting || !sid) await reset();
    if (!sid) return;
    try {
      state = await App.post("/api/net/" + sid + "/train", { steps: steps });
      err(); draw();
      if (selected) derive(selected);
      if (state.stopped) { pause(); err(state.stopped); }
    } catch (e) { pause(); err(e.message); }
  }
  async function loop() {
    while (running) { await advance(25); await new Promise(function (r) { setTimeout(r, 15); }); }
  }
  function train() { if (running) return; running = true; $("train").disabled = true; $("pause").disabled = false; loop(); }
  function pause() { running = false; $("train").disabled = false; $("pause").disabled = true; }

  function draw() {
    if (!state) return;
    $("stepcount").textContent = state.steps;
    var n = state.loss.length;
    $("loss").textContent = n ? num(state.loss[n - 1], 4) : "—";
    $("accuracy").textContent = n ? (100 * state.accuracy[n - 1]).toFixed(1) + "%" : "—";
    regions(); network();
    var xs = state.at;
    if (n) Plot.lines($("losscurve"), { series: [
      { x: xs, y: state.loss, color: "#2563eb" }, { x: xs, y: state.accuracy, color: "#ea580c" }],
      yrange: [0, Math.max(1.05, Math.max.apply(null, state.loss) * 1.05)] });
    if (state.grad_norms) Plot.logBars($("gradnorms"), state.grad_norms,
      state.grad_norms.map(function (_, i) { return "W" + (i + 1); }), "#7c3aed");
  }

  function regions() {
    var cv = $("regions"), c = cv.getContext("2d"), W = cv.width, H = cv.height, g = state.grid_size;
    var b = state.bounds, cw = W / g, ch = H / g;
    for (var r = 0; r < g; r++) for (var k = 0; k < g; k++) {
      var p = state.grid[r * g + k];  // P(class 1): blue; class 0: orange
      var R = Math.round(253 * (1 - p) + 147 * p), G = Math.round(186 * (1 - p) + 197 * p), B = Math.round(116 * (1 - p) + 253 * p);
      c.fillStyle = "rgb(" + R + "," + G + "," + B + ")";
      c.fillRect(k * cw, r * ch, cw + 0.5, ch + 0.5);
    }
    data.points.forEach(function (pt, i) {
      var x = (pt[0] - b[0]) / (b[1] - b[0]) * W, y = (b[3] - pt[1]) / (b[3] - b[2]) * H;
      c.beginPath(); c.arc(x, y, 3, 0, 2 * Math.PI);
      c.fillStyle = data.labels[i] ? "#1d4ed8" : "#c2410c"; c.fill();
      c.strokeStyle = "#fff"; c.lineWidth = 0.8; c.stroke();
    });
  }

  function network() {
    var svg = $("network"), W = +svg.getAttribute("width"), H = +svg.getAttribute("height"), ws = state.weights;
    var widths = [2].concat(ws.map(function (w) { return w.length; }));
    var pos = widths.map(function (n, l) {
      var x = 30 + l * (W - 60) / (widths.length - 1), out = [];
      for (var i = 0; i < n; i++) out.push([x, H / 2 + (i - (n - 1) / 2) * Math.min(34, (H - 30) / n)]);
      return out;
    });
    svg.textContent = "";
    // Each weight: a visible line (width by |w|, blue for +, orange for -) and, on top of
    // all of them, a transparent 10 px line that takes the clicks and the test hook.
    var hits = [];
    ws.forEach(function (Wl, l) {
      Wl.forEach(function (row, j) {
        row.forEach(function (w, i) {
          var a = pos[l][i], b = pos[l + 1][j], on = selected && selected.join("-") === [l + 1, i, j].join("-");
          var line = segment(a, b, on ? "#111827" : w >= 0 ? "#2563eb" : "#ea580c",
            (1 + Math.min(5, Math.abs(w) * 2)).toFixed(2));
          line.setAttribute("stroke-opacity", on ? "1" : "0.75");
          svg.appendChild(line);
          var hit = segment(a, b, "transparent", "10");
          hit.setAttribute("data-testid", "weight-" + (l + 1) + "-" + i + "-" + j);
          var t = document.createElementNS(SVGNS, "title");
          t.textContent = "W" + (l + 1) + "[" + j + "," + i + "] = " + w;
          hit.appendChild(t);
          hit.addEventListener("click", function () { selected = [l + 1, i, j]; network(); derive(selected); });
          hits.push(hit);
        });
      });
    });
    hits.forEach(function (h) { svg.appendChild(h); });
    pos.forEach(function (col, l) {
      col.forEach(function (p, i) {
        var c = document.createElementNS(SVGNS, "circle");
        c.setAttribute("cx", p[0]); c.setAttribute("cy", p[1]); c.setAttribute("r", 8);
        c.setAttribute("fill", l === 0 ? "#dbeafe" : l === pos.length - 1 ? "#dcfce7" : "#fef9c3");
        c.setAttribute("stroke", "#374151");
        svg.appendChild(c);
        if (l === 0) {
          var t = document.createElementNS(SVGNS, "text");
          t.setAttribute("x", p[0] - 12); t.setAttribute("y", p[1] + 4); t.setAttribute("text-anchor", "end");
          t.setAttribute("font-size", "11"); t.textContent = "x" + (i + 1); svg.appendChild(t);
        }
      });
    });
  }

  function segment(a, b, color, width) {
    var line = document.createElementNS(SVGNS, "line");
    line.setAttribute("x1", a[0]); line.setAttribute("y1", a[1]);
    line.setAttribute("x2", b[0]); line.setAttribute("y2", b[1]);
    line.setAttribute("stroke", color); line.setAttribute("stroke-width", width);
    return line;
  }

  var deriving = false;
  async function derive(w) {
    if (!sid || deriving) return;
    deriving = true;
    try {
      var d = await App.get("/api/net/" + sid + "/weight?layer=" + w[0] + "&i=" + w[1] + "&j=" + w[2]);
      showDerivation(d);
    } catch (e) { $("derivation").textContent = e.message; }
    finally { deriving = false; }
  }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function showDerivation(d) {
    var box = $("derivation"), name = "W" + d.layer + "[" + d.j + "," + d.i + "]";
    box.textContent = "";
    box.appendChild(el("h2", "∂L/∂" + name + " at step " + d.step));
    box.appendChild(el("div", "The weight " + name + " = " + num(d.weight) + " feeds unit " + d.j + " of layer " + d.layer +
      ". L depends on it along " + d.paths + " path" + (d.paths > 1 ? "s" : "") +
      " through the later layers. Along a path the links multiply (φ′ = " + d.dphi + " for " + d.activation +
      ", ∂L/∂ŷ = (σ(ŷ) − y)/B); the gradient is the sum over the paths and over the batch of " + d.batch + " samples."));
    var t = el("table"), head = el("tr");
    ["path", "links (sample 1)", "product (sample 1)", "sum over the batch"].forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(head);
    d.shown.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", p.units.join(" → "), "mono"));
      tr.appendChild(el("td", p.links.map(function (lk) { return lk.name + "=" + num(lk.value, 4); }).join(" × "), "mono"));
      tr.appendChild(el("td", num(p.first_sample), "num"));
      tr.appendChild(el("td", num(p.batch_sum), "num"));
      t.appendChild(tr);
    });
    box.appendChild(t);
    if (d.paths > d.shown.length) box.appendChild(el("div", "+ " + (d.paths - d.shown.length) + " smaller paths, together " + num(d.rest)));
    var total = el("div", "∂L/∂" + name + " = sum over " + d.paths + " path" + (d.paths > 1 ? "s" : "") + " = " + num(d.value, 8), "total");
    total.setAttribute("data-testid", "derivation-total");
    total.setAttribute("data-value", String(d.value));
    box.appendChild(total);
    var agree = Math.abs(d.value - d.engine) <= 1e-5 * Math.max(Math.abs(d.engine), 1e-8) + 1e-9;
    var eng = el("div", "engine's gradient (backward pass): " + num(d.engine, 8) + (agree ? "  ✓ the same" : "  ✗ differs"), "mono");
    eng.setAttribute("data-testid", "derivation-engine");
    eng.setAttribute("data-value", String(d.engine));
    box.appendChild(eng);
  }

  function open() {
    if (opened) return;
    opened = true;
    reset();
  }
  $("train").addEventListener("click", train);
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", function () { pause(); advance(1); });
  document.querySelectorAll(".preset").forEach(function (b) {
    b.addEventListener("click", function () {
      var p = b.dataset.preset.split("|");
      $("dataset").value = p[0]; $("layers").value = p[1]; $("activation").value = p[2]; $("lr").value = p[3];
      changed();
    });
  });
  $("reset").addEventListener("click", function () { made = null; reset(); });
  ["dataset", "activation", "layers", "lr", "batch"].forEach(function (id) {
    $(id).addEventListener("change", changed);
  });
  window.addEventListener("pagehide", close);
  return { open: open, sid: function () { return sid; } };
})();
