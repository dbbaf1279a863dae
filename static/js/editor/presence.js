/* Who else writes here: announced when a text is opened or first typed in, then every few seconds
   while the page is in view; the answer names the others editing each text (advisory). */

import { page } from "./page.js";

export var HEARTBEAT_MS = 5000;
var ACTIVE_MS = 120000;
var announced = null;  // the text this person was last announced in

function currentPart() {
  var current = null;
  page.parts.forEach(function (part) {
    if (part.active && Date.now() - part.active < ACTIVE_MS && (!current || part.active > current.active)) {
      current = part;
    }
  });
  return current;
}

function showEditors(editors) {
  document.querySelectorAll("[data-presence-for]").forEach(function (element) {
    var lines = editors[element.dataset.presenceFor] || [];
    var text = lines.join("\n");
    if (element.dataset.shown === text) {
      return;
    }
    element.dataset.shown = text;
    element.textContent = "";
    lines.forEach(function (line) {
      var span = document.createElement("span");
      span.className = "d-block";
      span.textContent = "⚠ " + line;
      element.appendChild(span);
    });
  });
}

export function heartbeat(leaving) {
  var body = new URLSearchParams();
  var current = currentPart();
  if (current) {
    body.set(current.partner ? "partenaire" : "commun", current.partner || "1");
    if (leaving) {
      body.set("depart", "1");
    }
  } else if (leaving) {
    return;
  }
  announced = current;
  fetch(page.presenceUrl, {
    method: "POST",
    credentials: "same-origin",
    keepalive: Boolean(leaving),
    headers: { "X-CSRFToken": page.csrfToken, "Accept": "application/json" },
    body: body,
  }).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (data) {
    if (data && data.editors) {
      showEditors(data.editors);
    }
  }).catch(function () { /* advisory only */ });
}

// Opening a text or typing its first key: the others hear of it now, not at the next beat.
export function touched(part) {
  part.active = Date.now();
  if (announced !== part) {
    heartbeat(false);
  }
}

export function startPresence() {
  heartbeat(false);
  window.setInterval(function () {
    if (document.visibilityState !== "hidden") {
      heartbeat(false);
    }
  }, HEARTBEAT_MS);
}
