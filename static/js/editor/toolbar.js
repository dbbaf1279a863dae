/* The formatting toolbar: one tab stop, arrows between buttons (ARIA toolbar pattern), pressed states. */

import { rename } from "./cleaning.js";

var isMac = /Mac|iPhone|iPad/.test(navigator.platform || "");
export var CTRL = isMac ? "Meta-" : "Ctrl-";

export function setBlock(editor, tag) {
  editor.modifyBlocks(function (fragment) {
    Array.prototype.slice.call(fragment.childNodes).forEach(function (node) {
      if (node.nodeType === 1 && /^(P|H3|H4|DIV)$/.test(node.nodeName)) {
        rename(node, node.nodeName === tag ? "P" : tag);
      }
    });
    return fragment;
  });
}

function toggleFormat(editor, tag) {
  if (editor.hasFormat(tag)) {
    editor.changeFormat(null, { tag: tag });
  } else {
    editor.changeFormat({ tag: tag }, null);
  }
}

function toggleList(editor, tag) {
  if (new RegExp("(?:^|>)" + tag).test(editor.getPath())) {
    editor.removeList();
  } else if (tag === "UL") {
    editor.makeUnorderedList();
  } else {
    editor.makeOrderedList();
  }
}

function toggleQuote(editor) {
  if (/(?:^|>)BLOCKQUOTE/.test(editor.getPath())) {
    editor.removeQuote();
  } else {
    editor.increaseQuoteLevel();
  }
}

export function link(editor) {
  if (/(?:^|>)A\b/.test(editor.getPath())) {
    editor.removeLink();
    return;
  }
  var address = window.prompt("Adresse du lien (commençant par https://) :", "https://");
  if (!address) {
    return;
  }
  address = address.trim();
  if (!/^(https?:\/\/|mailto:)/i.test(address)) {
    window.alert("Le lien doit commencer par https://, http:// ou mailto:");
    return;
  }
  editor.makeLink(address);
}

function insertTable(editor) {
  var cell = "<td><br></td>";
  var row = "<tr>" + cell + cell + "</tr>";
  editor.insertHTML("<table><tbody>" + row + row + "</tbody></table><p><br></p>");
}

var BUTTONS = [
  { label: "Gras", text: "G", keys: "Ctrl+B", run: function (e) { toggleFormat(e, "B"); }, format: "B" },
  { label: "Italique", text: "I", keys: "Ctrl+I", run: function (e) { toggleFormat(e, "I"); }, format: "I" },
  { label: "Souligné", text: "S", keys: "Ctrl+U", run: function (e) { toggleFormat(e, "U"); }, format: "U" },
  { label: "Barré", text: "ab", keys: "Ctrl+Maj+7", run: function (e) { toggleFormat(e, "S"); }, format: "S" },
  { label: "Titre", text: "T1", keys: "Ctrl+Maj+1", run: function (e) { setBlock(e, "H3"); }, path: "H3" },
  { label: "Sous-titre", text: "T2", keys: "Ctrl+Maj+2", run: function (e) { setBlock(e, "H4"); }, path: "H4" },
  { label: "Liste à puces", text: "•", keys: "Ctrl+Maj+8", run: function (e) { toggleList(e, "UL"); }, path: "UL" },
  { label: "Liste numérotée", text: "1.", keys: "Ctrl+Maj+9", run: function (e) { toggleList(e, "OL"); }, path: "OL" },
  { label: "Citation", text: "❝", keys: "Ctrl+]", run: toggleQuote, path: "BLOCKQUOTE" },
  { label: "Lien", text: "Lien", keys: "Ctrl+K", run: link, path: "A" },
  { label: "Insérer un tableau", text: "▦", keys: "", run: insertTable },
  { label: "Annuler", text: "↶", keys: "Ctrl+Z", run: function (e) { e.undo(); } },
  { label: "Rétablir", text: "↷", keys: "Ctrl+Y", run: function (e) { e.redo(); } },
];

export function buildToolbar(part) {
  var bar = document.createElement("div");
  bar.className = "editor-toolbar btn-toolbar gap-1 mb-1";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Mise en forme : " + part.label);
  bar.setAttribute("aria-controls", part.surface.id);
  part.buttons = BUTTONS.map(function (spec, index) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-outline-secondary";
    button.textContent = spec.text;
    button.setAttribute("aria-label", spec.label + (spec.keys ? " (" + spec.keys + ")" : ""));
    button.title = spec.label + (spec.keys ? " (" + spec.keys + ")" : "");
    button.tabIndex = index === 0 ? 0 : -1;
    if (spec.format || spec.path) {
      button.setAttribute("aria-pressed", "false");
    }
    button.addEventListener("click", function () {
      spec.run(part.editor);
      part.editor.focus();
    });
    bar.appendChild(button);
    return { spec: spec, button: button };
  });
  bar.addEventListener("keydown", function (event) {
    var buttons = part.buttons.map(function (b) { return b.button; });
    var index = buttons.indexOf(document.activeElement);
    if (index < 0) {
      return;
    }
    var next = null;
    if (event.key === "ArrowRight") { next = (index + 1) % buttons.length; }
    if (event.key === "ArrowLeft") { next = (index - 1 + buttons.length) % buttons.length; }
    if (event.key === "Home") { next = 0; }
    if (event.key === "End") { next = buttons.length - 1; }
    if (next !== null) {
      event.preventDefault();
      buttons[index].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    }
  });
  return bar;
}

export function refreshToolbar(part) {
  var path = part.editor.getPath();
  part.buttons.forEach(function (entry) {
    var pressed = null;
    if (entry.spec.format) {
      pressed = part.editor.hasFormat(entry.spec.format);
    } else if (entry.spec.path) {
      pressed = new RegExp("(?:^|>)" + entry.spec.path + "\\b").test(path);
    }
    if (pressed !== null) {
      entry.button.setAttribute("aria-pressed", pressed ? "true" : "false");
      entry.button.classList.toggle("active", pressed);
    }
  });
}
