// Small canvas charts for the explorer and the playground: lines with axes, bars.
"use strict";
var Plot = (function () {
  function ctx2d(canvas) {
    var dpr = window.devicePixelRatio || 1, w = canvas.clientWidth || canvas.width,
      h = canvas.clientHeight || canvas.height;
    // The page's CSS sets the displayed size; the bitmap follows it at the screen's density.
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    var c = canvas.getContext("2d");
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, h);
    return { c: c, w: w, h: h };
  }
  function extent(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (v !== null && isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } });
    if (!isFinite(lo)) { lo = -1; hi = 1; }
    if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
    var pad = (hi - lo) * 0.06;
    return [lo - pad, hi + pad];
  }
  function ticks(lo, hi, n) {
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    [1, 2, 5, 10].some(function (m) { if ((hi - lo) / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return out;
  }
  function fmt(v) { return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(0) : String(+v.toPrecision(4)); }

  // opts: {series: [{x, y, color, dash, width}], points: [{x, y, color}], xrange, yrange}
  function lines(canvas, opts) {
    var g = ctx2d(canvas), c = g.c, L = 46, R = 10, T = 10, B = 24;
    var xs = [], ys = [];
    opts.series.forEach(function (s) { xs = xs.concat(s.x); if (!s.noscale) ys = ys.concat(s.y); });
    var xr = opts.xrange || extent(xs), yr = opts.yrange || extent(ys);
    function X(v) { return L + (v - xr[0]) / (xr[1] - xr[0]) * (g.w - L - R); }
    function Y(v) { return T + (yr[1] - v) / (yr[1] - yr[0]) * (g.h - T - B); }
    c.font = "11px system-ui, sans-serif"; c.fillStyle = "#6b7280"; c.strokeStyle = "#e5e7eb"; c.lineWidth = 1;
    ticks(xr[0], xr[1], 6).forEach(function (t) {
      c.beginPath(); c.moveTo(X(t), T); c.lineTo(X(t), g.h - B); c.stroke();
      c.textAlign = "center"; c.fillText(fmt(t), X(t), g.h - 8);
    });
    ticks(yr[0], yr[1], 5).forEach(function (t) {
      c.beginPath(); c.moveTo(L, Y(t)); c.lineTo(g.w - R, Y(t)); c.stroke();
      c.textAlign = "right"; c.fillText(fmt(t), L - 4, Y(t) + 4);
    });
    c.strokeStyle = "#9ca3af";
    if (yr[0] < 0 && yr[1] > 0) { c.beginPath(); c.moveTo(L, Y(0)); c.lineTo(g.w - R, Y(0)); c.stroke(); }
    c.save(); c.beginPath(); c.rect(L, T, g.w - L - R, g.h - T - B); c.clip();
    opts.series.forEach(function (s) {
      c.strokeStyle = s.color; c.lineWidth = s.width || 2; c.setLineDash(s.dash || []);
      c.beginPath(); var pen = false;
      for (var i = 0; i < s.x.length; i++) {
        var v = s.y[i];
        if (v === null || !isFinite(v)) { pen = false; continue; }
        if (pen) c.lineTo(X(s.x[i]), Y(v)); else c.moveTo(X(s.x[i]), Y(v));
        pen = true;
      }
      c.stroke();
    });
    c.setLineDash([]);
    (opts.points || []).forEach(function (p) {
      c.fillStyle = p.color; c.beginPath(); c.arc(X(p.x), Y(p.y), p.r || 5, 0, 2 * Math.PI); c.fill();
    });
    c.restore();
    return { X: X, Y: Y };
  }

  // Bars on a log scale: values > 0, labels under each bar.
  function logBars(canvas, values, labels, color) {
    var g = ctx2d(canvas), c = g.c, L = 46, B = 24, T = 16;
    var pos = values.filter(function (v) { return v > 0; });
    if (!pos.length) return;
    var lo = Math.floor(Math.log10(Math.min.apply(null, pos))) , hi = Math.ceil(Math.log10(Math.max.apply(null, pos)));
    if (hi - lo < 2) lo = hi - 2;
    function Y(v) { return T + (hi - Math.log10(v)) / (hi - lo) * (g.h - T - B); }
    c.font = "11px system-ui, sans-serif"; c.fillStyle = "#6b7280"; c.strokeStyle = "#e5e7eb";
    for (var e = lo; e <= hi; e++) {
      c.beginPath(); c.moveTo(L, Y(Math.pow(10, e))); c.lineTo(g.w - 8, Y(Math.pow(10, e))); c.stroke();
      c.textAlign = "right"; c.fillText("1e" + e, L - 4, Y(Math.pow(10, e)) + 4);
    }
    var slot = (g.w - L - 8) / values.length;
    values.forEach(function (v, i) {
      var x = L + i * slot + slot * 0.2, w = slot * 0.6, y = v > 0 ? Y(v) : g.h - B;
      c.fillStyle = color; c.fillRect(x, y, w, g.h - B - y);
      c.fillStyle = "#111827"; c.textAlign = "center";
      c.fillText(labels[i], x + w / 2, g.h - 8);
      c.fillText(v.toPrecision(2), x + w / 2, Math.max(T - 4, y - 3));
    });
  }
  return { lines: lines, logBars: logBars, fmt: fmt };
})();
