// duroxide dashboard: draws the history timeline from the JSON the instance page
// embeds, and refreshes it while the instance runs. No framework, no inline script
// (the Content-Security-Policy allows scripts from the dashboard only).
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function offset(ms) {
    if (ms < 60000) { return "+" + (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + "s"; }
    if (ms < 3600000) { return "+" + Math.floor(ms / 60000) + "m" + String(Math.floor(ms / 1000) % 60).padStart(2, "0") + "s"; }
    return "+" + Math.floor(ms / 3600000) + "h" + String(Math.floor(ms / 60000) % 60).padStart(2, "0") + "m";
  }

  function render(container, tl) {
    container.textContent = "";
    var bars = tl.bars || [];
    if (bars.length === 0) {
      container.appendChild(el("p", "muted", "No events yet."));
      container.dataset.rendered = "0";
      return;
    }
    var start = tl.start, span = Math.max(tl.end - tl.start, 1);
    var axis = el("div", "tl-axis");
    axis.appendChild(el("div", "tl-label"));
    var ticks = el("div", "tl-ticks");
    for (var i = 0; i <= 4; i++) {
      var t = el("span", "tl-tick", offset(span * i / 4));
      t.style.left = (i * 25) + "%";
      ticks.appendChild(t);
    }
    axis.appendChild(ticks);
    container.appendChild(axis);
    bars.forEach(function (b) {
      var row = el("div", "tl-row");
      row.dataset.kind = b.kind;
      var label = el("div", "tl-label");
      if (b.link) {
        var a = el("a", "", b.label);
        a.href = b.link;
        label.appendChild(a);
      } else {
        label.textContent = b.label;
      }
      label.title = b.label;
      row.appendChild(label);
      var track = el("div", "tl-track");
      var bar = el("div", "tl-bar " + b.kind + " " + b.state);
      var left = (b.start - start) / span * 100;
      var width = Math.max((b.end - b.start) / span * 100, 0.8);
      if (left + width > 100) { left = Math.max(0, 100 - width); }
      bar.style.left = left + "%";
      bar.style.width = width + "%";
      var took = b.state === "point" ? "" : " (" + (b.state === "open" ? "open, " : b.state + ", ") + offset(b.end - b.start).slice(1) + ")";
      bar.title = "#" + b.event + " " + b.label + took + (b.detail ? "\n" + b.detail : "");
      track.appendChild(bar);
      row.appendChild(track);
      container.appendChild(row);
    });
    container.dataset.rendered = String(bars.length);
  }

  function start() {
    var data = document.getElementById("timeline-data");
    var container = document.getElementById("timeline");
    if (!data || !container) { return; }
    render(container, JSON.parse(data.textContent));
    var url = container.dataset.refresh;
    if (!url || !window.fetch) { return; }
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) { return; }
          if (d.status !== "Running") {
            clearInterval(timer);
            window.location.reload();
            return;
          }
          render(container, d.timeline);
        })
        .catch(function () { clearInterval(timer); });
    }, 3000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
