// Tasker dashboard: auto-refresh and confirmations. Loaded as a file (the CSP forbids inline script).
(function () {
  "use strict";
  var INTERVAL = 5000;
  var toggle = document.getElementById("autorefresh");
  var stamp = document.getElementById("updated");
  var busy = false;

  if (toggle) {
    toggle.checked = localStorage.getItem("tasker.autorefresh") !== "off";
    toggle.addEventListener("change", function () {
      localStorage.setItem("tasker.autorefresh", toggle.checked ? "on" : "off");
    });
  }

  function typing() {
    var el = document.activeElement;
    return el && el.closest("[data-refresh]") && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
  }

  // Re-fetch this page and swap in its [data-refresh] regions: one server-side rendering path,
  // no JSON templates in the browser, and the filter form outside the regions keeps what is typed.
  function refresh() {
    if (busy || !toggle || !toggle.checked || document.hidden || typing()) return;
    busy = true;
    fetch(location.href, { credentials: "same-origin", cache: "no-store", headers: { "X-Requested-With": "tasker-refresh" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-refresh]").forEach(function (region) {
          var next = region.id && fresh.getElementById(region.id);
          if (next) region.replaceWith(document.importNode(next, true));
        });
        if (stamp) stamp.textContent = "updated " + new Date().toISOString().slice(0, 19).replace("T", " ");
      })
      .catch(function () { /* offline or restarting: keep the page, try again next tick */ })
      .then(function () { busy = false; });
  }
  setInterval(refresh, INTERVAL);

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
