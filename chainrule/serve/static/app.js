// The tabs, the shared fetch helpers, and the link that carries the expression and point.
"use strict";
var App = (function () {
  async function call(method, url, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
    var r = await fetch(url, init), data;
    try { data = await r.json(); } catch (e) { data = { error: r.status + " " + r.statusText }; }
    if (!r.ok || data.error) { var err = new Error(data.error || r.statusText); err.status = r.status; throw err; }
    return data;
  }
  var current = null;
  function show(tab) {
    document.querySelectorAll(".page").forEach(function (p) { p.hidden = p.id !== tab; });
    document.querySelectorAll(".tab").forEach(function (b) { b.classList.toggle("on", b.dataset.tab === tab); });
    current = tab;
    if (tab === "steps") Explorer.stepThrough(document.getElementById("steps-body"));
    if (tab === "playground") Playground.open();
    Explorer.saveUrl();
  }
  return {
    post: function (u, b) { return call("POST", u, b); },
    get: function (u) { return call("GET", u); },
    tab: function () { return current; },
    show: show,
  };
})();

(function () {
  document.querySelectorAll(".tab").forEach(function (b) {
    b.addEventListener("click", function () { App.show(b.dataset.tab); });
  });
  var params = new URLSearchParams(location.search), tab = params.get("tab");
  Explorer.start(params);
  App.show(["explorer", "steps", "playground"].indexOf(tab) >= 0 ? tab : "explorer");
})();
