/* Writing page: each text becomes a rich-text editor (Squire) with a live character count, autosave,
   a copy kept in this browser until the server confirms, the conflict view and presence.
   Without JavaScript the page works with its plain text areas and forms. */

import { editorHtml, sanitiseForEditor } from "./cleaning.js";
import { visibleLength } from "./counting.js";
import { clashMarks, confirmMerge, mergeEdited, showConflict, wordDiff } from "./conflict.js";
import { page } from "./page.js";
import { heartbeat, startPresence, touched } from "./presence.js";
import { hooks, held, save, SAVE_DELAY_MS, schedule, setBase, setState, updateCounter } from "./saving.js";
import { findLocal, forgetLocal, keepLocal } from "./storage.js";
import { buildToolbar, CTRL, link, refreshToolbar, setBlock } from "./toolbar.js";

hooks.conflict = showConflict;

function onChange(part) {
  touched(part);
  if (part.merging) {
    mergeEdited(part);
    return;
  }
  var html = editorHtml(part);
  updateCounter(part, html);
  if (html === part.saved) {
    return;
  }
  keepLocal(part, html);
  if (part.conflict) {
    setState(part, "Conflit à régler : votre texte est conservé dans ce navigateur.", "warning");
    return;
  }
  setState(part, "Modifications non enregistrées…", "pending");
  schedule(part, SAVE_DELAY_MS);
}

function setUp(form) {
  var textarea = form.querySelector("textarea[name=content]");
  var part = {
    form: form,
    key: form.dataset.partKey,
    partner: form.dataset.partner || "",
    label: form.dataset.label,
    limit: form.dataset.limit ? parseInt(form.dataset.limit, 10) : null,
    base: parseInt(form.dataset.baseRevision, 10) || 0,
    baseField: form.querySelector("input[name=base_revision]"),
    counter: form.querySelector(".counter"),
    state: form.querySelector(".save-state"),
    conflictPanel: form.parentNode.querySelector(".conflict-panel"),
    presence: form.parentNode.querySelector("[data-presence-for]"),
    saved: null,
    timer: null,
    retryDelay: 0,
    conflict: null,
    merging: null,
    active: 0,
  };
  var surface = document.createElement("div");
  surface.id = "editeur-" + part.key;
  surface.className = "editor-surface form-control richtext";
  surface.setAttribute("role", "textbox");
  surface.setAttribute("aria-multiline", "true");
  surface.setAttribute("aria-label", "Texte : " + part.label);
  surface.setAttribute("aria-describedby", part.counter.id);
  part.surface = surface;
  textarea.hidden = true;
  var hint = form.querySelector(".no-js-hint");
  if (hint) {
    hint.hidden = true;
  }
  textarea.parentNode.insertBefore(buildToolbar(part), textarea);
  textarea.parentNode.insertBefore(surface, textarea);
  part.editor = new window.Squire(surface, { blockTag: "P", sanitizeToDOMFragment: sanitiseForEditor });
  // Code blocks are not part of the exchange format; headings get their own shortcuts.
  part.editor.setKeyHandler(CTRL + "d", function (self, event) { event.preventDefault(); });
  part.editor.setKeyHandler(CTRL + "Shift-1", function (self, event) { event.preventDefault(); setBlock(self, "H3"); });
  part.editor.setKeyHandler(CTRL + "Shift-2", function (self, event) { event.preventDefault(); setBlock(self, "H4"); });
  part.editor.setKeyHandler(CTRL + "k", function (self, event) { event.preventDefault(); link(self); });
  part.editor.setHTML(textarea.value);
  part.saved = editorHtml(part);
  part.editor.addEventListener("input", function () { onChange(part); });
  part.editor.addEventListener("pathChange", function () { refreshToolbar(part); });
  part.editor.addEventListener("focus", function () { touched(part); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (part.merging) {
      confirmMerge(part);
      return;
    }
    textarea.value = editorHtml(part);
    save(part, false);
  });
  var saveButton = form.querySelector(".save-button");
  if (saveButton) {
    saveButton.textContent = "Enregistrer maintenant";
    saveButton.classList.replace("btn-primary", "btn-outline-primary");
  }
  updateCounter(part, part.saved);
  // A text this browser kept and the server never confirmed: put it back and save it.
  var local = findLocal(part);
  if (local && local.content !== part.saved) {
    setBase(part, local.base);
    part.editor.setHTML(local.content);
    updateCounter(part, editorHtml(part));
    part.active = Date.now();
    if (clashMarks(local.content)) {
      setState(part, "Votre fusion non enregistrée a été reprise de ce navigateur : retirez les marques « ⟦ … ⟧ » puis enregistrez.", "warning");
    } else {
      setState(part, "Votre texte non enregistré a été repris de ce navigateur ; enregistrement…", "pending");
      schedule(part, 300);
    }
  } else if (local) {
    forgetLocal(part);
  }
  page.parts.push(part);
}

function flush() {
  page.parts.forEach(function (part) {
    var html = editorHtml(part);
    if (html !== part.saved) {
      keepLocal(part, html);
      save(part, true);
    }
  });
}

function start() {
  if (!page.root || typeof window.Squire !== "function" || typeof window.DOMPurify === "undefined") {
    return;
  }
  if (page.root.dataset.apiAvailable !== "oui") {
    return;  // the API is not there: the plain forms keep working
  }
  document.querySelectorAll("form.text-form").forEach(setUp);
  // Opened on one text (its anchor, or the only one this person writes): announced at once.
  var opened = page.parts.length === 1 ? page.parts[0] : page.parts.find(function (part) {
    return location.hash === "#" + part.key;
  });
  if (opened) {
    opened.active = Date.now();
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      flush();
    }
  });
  window.addEventListener("pagehide", function () {
    flush();
    heartbeat(true);
  });
  window.addEventListener("online", function () {
    page.parts.forEach(function (part) {
      if (editorHtml(part) !== part.saved) {
        schedule(part, 100);
      }
    });
  });
  window.addEventListener("beforeunload", function (event) {
    flush();
    // The text is kept in this browser either way; warn only when the server is not taking it.
    var failing = page.parts.some(function (part) {
      return editorHtml(part) !== part.saved && (part.retryDelay || held(part));
    });
    if (failing) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  startPresence();
}

start();

// For the browser tests and the curious: the counting rule, checkable against the server's.
window.consortioEditor = { visibleLength: visibleLength, wordDiff: wordDiff, parts: page.parts };
