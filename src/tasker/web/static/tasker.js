// Tasker dashboard: live updates in place, row selection, confirmations.
// Loaded as a file (the CSP forbids inline script); no build step, no dependencies.
(function () {
  "use strict";
  var INTERVAL = 3000;
  var toggle = document.getElementById("live-toggle");
  var state = document.getElementById("live-state");
  var stamp = document.getElementById("updated");
  var busy = false;

  if (toggle) {
    toggle.checked = localStorage.getItem("tasker.live") !== "off";
    toggle.addEventListener("change", function () {
      localStorage.setItem("tasker.live", toggle.checked ? "on" : "off");
      show(toggle.checked ? "" : "paused");
    });
  }

  function show(text) {
    if (state) state.textContent = text;
  }

  // Why not to touch the page now: the operator is in the middle of something there.
  function pauseReason() {
    if (document.querySelector("input[name=id][form=bulk]:checked")) return "paused while tasks are ticked";
    var selection = window.getSelection();
    if (selection && !selection.isCollapsed && inLive(selection.anchorNode)) return "paused while text is selected";
    var focused = document.activeElement;
    if (focused && inLive(focused) && /^(INPUT|SELECT|TEXTAREA)$/.test(focused.tagName) && focused.type !== "checkbox") return "paused while editing";
    return null;
  }

  function inLive(node) {
    var element = node && (node.nodeType === 1 ? node : node.parentElement);
    return Boolean(element && element.closest("[data-live]"));
  }

  // The server answers X-Tasker-Live with the page's live region only (rendered by the same
  // template as the page); it is merged into the page in place, node by node.
  function refresh() {
    if (busy || !toggle || !toggle.checked || document.hidden || !document.querySelector("[data-live]")) return;
    var reason = pauseReason();
    show(reason || "");
    if (reason) return;
    busy = true;
    fetch(location.href, { credentials: "same-origin", cache: "no-store", headers: { "X-Tasker-Live": "1" } })
      .then(function (response) {
        if (!response.ok) { show(response.status === 401 ? "signed out: reload to sign in" : "not updated (" + response.status + ")"); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null || pauseReason()) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (region) {
          var next = region.id && fresh.getElementById(region.id);
          if (next) morph(region, next);
        });
        selectionChanged();
        if (stamp) stamp.textContent = "updated " + new Date().toISOString().slice(0, 19).replace("T", " ");
      })
      .catch(function () { show("offline: retrying"); })
      .then(function () { busy = false; });
  }
  setInterval(refresh, INTERVAL);

  // Make `old` look like `fresh`, touching only what differs (so focus, hover and ticks stay).
  function morph(old, fresh) {
    if (old.nodeType !== fresh.nodeType || old.nodeName !== fresh.nodeName) {
      old.replaceWith(document.importNode(fresh, true));
      return;
    }
    if (old.nodeType !== 1) {
      if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
      return;
    }
    syncAttributes(old, fresh);
    if (old.hasAttribute("data-keyed")) morphKeyed(old, fresh);
    else morphChildren(old, fresh);
  }

  function syncAttributes(old, fresh) {
    Array.prototype.slice.call(old.attributes).forEach(function (attribute) {
      if (!fresh.hasAttribute(attribute.name) && attribute.name !== "open") old.removeAttribute(attribute.name);
    });
    Array.prototype.slice.call(fresh.attributes).forEach(function (attribute) {
      if (old.getAttribute(attribute.name) !== attribute.value) old.setAttribute(attribute.name, attribute.value);
    });
  }

  function morphChildren(old, fresh) {
    var before = old.childNodes, after = fresh.childNodes;
    if (before.length !== after.length) {
      old.replaceChildren.apply(old, Array.prototype.map.call(after, function (n) { return document.importNode(n, true); }));
      return;
    }
    for (var i = 0; i < after.length; i++) morph(before[i], after[i]);
  }

  // Children identified by data-key (a task's rows): kept, updated, added or dropped, and
  // flashed when their data-sig (what matters about them) changed.
  function morphKeyed(old, fresh) {
    var existing = {};
    Array.prototype.forEach.call(old.children, function (child) { existing[child.getAttribute("data-key")] = child; });
    var wanted = Array.prototype.map.call(fresh.children, function (child) {
      var current = existing[child.getAttribute("data-key")];
      if (!current) return flash(document.importNode(child, true), "added");
      var changed = current.getAttribute("data-sig") !== child.getAttribute("data-sig");
      morph(current, child);
      return changed ? flash(current, "changed") : current;
    });
    var same = wanted.length === old.children.length && wanted.every(function (node, i) { return old.children[i] === node; });
    if (!same) old.replaceChildren.apply(old, wanted);
  }

  function flash(element, kind) {
    element.classList.add("flash-" + kind);
    element.addEventListener("animationend", function () { element.classList.remove("flash-" + kind); }, { once: true });
    return element;
  }

  // Ticking tasks for a bulk action: a count on the bar, the buttons enabled only with a tick.
  function selectionChanged() {
    var boxes = document.querySelectorAll("input[name=id][form=bulk]");
    var ticked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
    var label = document.getElementById("selected-count");
    if (label) label.textContent = ticked ? ticked + " ticked:" : label.getAttribute("data-none");
    document.querySelectorAll("[data-needs-selection]").forEach(function (button) { button.disabled = !ticked; });
    var all = document.getElementById("select-all");
    if (all) {
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    if (ticked) show("paused while tasks are ticked");
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-all") {
      document.querySelectorAll("input[name=id][form=bulk]").forEach(function (box) { box.checked = target.checked; });
    }
    if (target.id === "select-all" || (target.name === "id" && target.getAttribute("form") === "bulk")) {
      selectionChanged();
      if (!pauseReason()) show("");
    }
  });
  selectionChanged();

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
