// Live deploy page: follows /deploys/<id>/stream (Server-Sent Events) and updates the steps in
// place. Text is only ever set with textContent, never parsed as HTML. A log is kept scrolled
// to its end only while the reader is already there; the page never reloads.
(function () {
  "use strict";
  var root = document.getElementById("deploy");
  if (!root) { return; }
  var steps = document.getElementById("steps");
  var texts = {};

  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 8; }
  function pageAtBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 8;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function badge(state, label) {
    var icons = { succeeded: "✓", failed: "✗", running: "●" };
    var span = el("span", "status s-" + state);
    var icon = el("span", "", icons[state] || "?");
    icon.setAttribute("aria-hidden", "true");
    span.appendChild(icon);
    span.appendChild(document.createTextNode(" " + label));
    return span;
  }
  function makeStep(d) {
    var box = el("details", "step");
    box.id = "step-" + d.position;
    box.dataset.position = d.position;
    var sum = el("summary");
    var n = el("span", "step-n", d.position + " of ");
    n.appendChild(el("span", "step-total", String(d.total)));
    sum.appendChild(n);
    sum.appendChild(el("span", "step-name", d.name));
    sum.appendChild(el("span", "step-state"));
    sum.appendChild(el("span", "step-time"));
    box.appendChild(sum);
    if (d.command) {
      var p = el("p", "cmd");
      p.appendChild(el("code", "", d.command));
      box.appendChild(p);
    }
    var pre = el("pre", "log");
    pre.tabIndex = 0;
    box.appendChild(pre);
    var none = document.getElementById("no-steps");
    if (none) { none.remove(); }
    steps.appendChild(box);
    return box;
  }
  function onStep(d) {
    var follow = pageAtBottom();
    var box = document.getElementById("step-" + d.position) || makeStep(d);
    var pre = box.querySelector("pre.log");
    var known = texts[d.position];
    if (known === undefined) { known = pre.textContent; }
    var stick = atBottom(pre);
    var text = known.slice(0, d.offset) + d.text;
    texts[d.position] = text;
    if (text !== pre.textContent) { pre.textContent = text; }
    box.querySelector(".step-state").replaceChildren(badge(d.state, d.label));
    box.querySelector(".step-time").textContent = d.duration;
    steps.querySelectorAll(".step-total").forEach(function (t) { t.textContent = String(d.total); });
    // Follow the running step: open it, and close the ones opened for the same reason once
    // they succeed (a step the reader opened stays open).
    if (d.state === "running" && !box.open) { box.open = true; box.dataset.auto = "1"; }
    if (d.state === "succeeded" && box.dataset.auto === "1") { box.open = false; }
    if (stick) { pre.scrollTop = pre.scrollHeight; }
    if (follow) { window.scrollTo(0, document.documentElement.scrollHeight); }
  }
  function openAt(position) {
    steps.querySelectorAll("details.step").forEach(function (box) {
      box.open = box.dataset.position === String(position);
    });
    var box = document.getElementById("step-" + position);
    if (!box) { return; }
    var pre = box.querySelector("pre.log");
    pre.scrollTop = pre.scrollHeight;
    box.scrollIntoView({ block: "start" });
    box.querySelector("summary").focus();
  }
  function onDone(d, source) {
    source.close();
    var status = document.getElementById("deploy-status");
    var label = d.status.replace("_", " ");
    var state = d.status === "succeeded" ? "succeeded" : (d.status === "cancelled" ? "cancelled" : "failed");
    var b = badge(state, label);
    b.className = "status s-" + d.status;
    status.replaceChildren(b);
    document.getElementById("deploy-reason").textContent = d.reason;
    document.getElementById("deploy-duration").textContent = d.duration;
    root.dataset.live = "no";
    root.dataset.done = d.status;
    if (d.open) { openAt(d.open); }
  }
  if (root.dataset.open) { openAt(root.dataset.open); }
  if (root.dataset.live === "yes" && window.EventSource) {
    var source = new EventSource(root.dataset.stream);
    source.addEventListener("step", function (e) { onStep(JSON.parse(e.data)); });
    source.addEventListener("done", function (e) { onDone(JSON.parse(e.data), source); });
    source.addEventListener("gone", function () { source.close(); });
  }
}());
