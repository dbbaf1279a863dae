/* Autosave through the API: a copy kept in this browser first, retries with back-off when offline or
   when the session expired, merges applied, and a conflict handed to the conflict view. */

import { editorHtml } from "./cleaning.js";
import { formatCount, visibleLength } from "./counting.js";
import { page, setCsrfToken } from "./page.js";
import { forgetLocal, keepLocal } from "./storage.js";

export var SAVE_DELAY_MS = 2000;
var MAX_RETRY_MS = 60000;
// Set by the page: what to do with a save the server kept as a conflict copy.
export var hooks = { conflict: function () {} };

function time(date) {
  return date.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Paris" });
}

export function setState(part, text, kind) {
  part.state.textContent = text;
  part.state.className = "save-state small mb-0 me-auto" + (kind ? " state-" + kind : " text-muted");
}

export function updateCounter(part, html) {
  var length = visibleLength(html);
  part.counter.textContent = formatCount(length, part.limit);
  part.counter.classList.toggle("over-limit", Boolean(part.limit && length > part.limit));
}

export function setBase(part, revision) {
  part.base = revision;
  part.baseField.value = String(revision);
}

// Waiting on the person (a conflict to choose, a merge to finish): nothing is sent on its own.
export function held(part) {
  return Boolean(part.conflict || part.merging);
}

export function schedule(part, delay) {
  window.clearTimeout(part.timer);
  part.timer = window.setTimeout(function () { save(part, false); }, delay);
}

function retry(part, message, kind) {
  setState(part, message, kind || "offline");
  part.retryDelay = Math.min(part.retryDelay ? part.retryDelay * 2 : 2000, MAX_RETRY_MS);
  schedule(part, part.retryDelay);
}

function apiUrl(part) {
  return page.apiUrl + (part.partner ? "?partner=" + encodeURIComponent(part.partner) : "");
}

function othersNames(part) {
  var names = part.presence.textContent.split(/ modifie ce texte depuis [^\n]*/).map(function (s) {
    return s.replace(/^\s*⚠\s*/, "").trim();
  }).filter(Boolean);
  return names.length ? names.join(", ") : "une autre personne";
}

export function save(part, leaving) {
  window.clearTimeout(part.timer);
  if (held(part)) {
    return Promise.resolve();
  }
  var html = editorHtml(part);
  if (html === part.saved) {
    if (!part.saving) {
      forgetLocal(part);
    }
    return Promise.resolve();
  }
  if (part.saving && !leaving) {
    part.again = true;
    return Promise.resolve();
  }
  // visibilitychange, pagehide and beforeunload may all fire: one request per text is enough.
  if (leaving && part.sentOnLeaving === html) {
    return Promise.resolve();
  }
  part.sentOnLeaving = leaving ? html : null;
  keepLocal(part, html);
  part.saving = true;
  setState(part, "Enregistrement…", "pending");
  var sentBase = part.base;
  return fetch(apiUrl(part), {
    method: "PUT",
    credentials: "same-origin",
    redirect: "manual",
    keepalive: Boolean(leaving) && html.length < 60000,
    headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": page.csrfToken },
    body: JSON.stringify({ content: html, base_revision: sentBase }),
  }).then(function (response) {
    if (response.type === "opaqueredirect" || response.status === 401) {
      retry(part, "Session expirée : reconnectez-vous dans un autre onglet. Vos modifications sont conservées dans ce navigateur.", "offline");
      return null;
    }
    return response.json().catch(function () { return {}; }).then(function (data) {
      handleResponse(part, response.status, data, html, sentBase);
    });
  }).catch(function () {
    retry(part, "Hors ligne : vos modifications sont conservées dans ce navigateur", "offline");
  }).then(function () {
    part.saving = false;
    if (part.again) {
      part.again = false;
      schedule(part, 200);
    }
  });
}

function handleResponse(part, status, data, html, sentBase) {
  if (status === 200) {
    part.retryDelay = 0;
    setBase(part, data.revision);
    var typedSince = editorHtml(part) !== html;
    if (data.merged) {
      if (typedSince) {
        // Keep the older base: the next save merges the new words with everybody's changes.
        setBase(part, sentBase);
        part.saved = null;
        schedule(part, 200);
      } else {
        part.editor.setHTML(data.content);
        part.saved = editorHtml(part);
        forgetLocal(part);
      }
      setState(part, "Vos modifications ont été fusionnées avec celles de " + othersNames(part) + " — enregistré à " + time(new Date()), "saved");
      updateCounter(part, editorHtml(part));
      return;
    }
    part.saved = html;
    if (typedSince) {
      keepLocal(part, editorHtml(part));
      schedule(part, SAVE_DELAY_MS);
    } else {
      forgetLocal(part);
    }
    setState(part, "Enregistré à " + time(new Date()), "saved");
    return;
  }
  if (status === 409 && data.error === "conflict") {
    part.retryDelay = 0;
    hooks.conflict(part, data, html);
    return;
  }
  if (status === 400 && data.error === "csrf" && data.csrf_token) {
    setCsrfToken(data.csrf_token);
    setState(part, "Reconnexion au serveur… vos modifications sont conservées dans ce navigateur", "pending");
    part.retryDelay = 0;
    schedule(part, 100);
    return;
  }
  if (status === 403) {
    setState(part, (data.message || "Vous ne pouvez pas modifier ce texte.") + " Votre texte reste conservé dans ce navigateur.", "error");
    return;
  }
  if (status === 422 || status === 404) {
    setState(part, (data.message || "Le texte n'a pas pu être enregistré.") + " Votre texte reste conservé dans ce navigateur.", "error");
    return;
  }
  retry(part, "Le serveur ne répond pas normalement : nouvel essai bientôt. Vos modifications sont conservées dans ce navigateur.", "offline");
}
