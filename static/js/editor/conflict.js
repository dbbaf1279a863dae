/* The conflict view: both versions side by side with their differences, and three ways out —
   keep theirs, keep mine, or merge by hand from the three-way merge the server prepared, where the
   blocks both changed sit between marks; a merge is saved only when the person confirms it. */

import { editorHtml } from "./cleaning.js";
import { plainText } from "./counting.js";
import { save, setBase, setState, updateCounter } from "./saving.js";
import { forgetLocal, keepLocal } from "./storage.js";

// The server's marks (app/sections/merge.CLASH_MARK): a text holding one is refused.
var CLASH_MARK = /⟦\s*(?:Conflit|Fin du conflit)\s+\d+[^⟧<]{0,200}⟧/g;

export function clashMarks(html) {
  return (html.match(CLASH_MARK) || []).length;
}

function tokens(text) {
  return text.split(/(\s+)/).filter(function (token) { return token !== ""; });
}

// Word-level differences: common prefix and suffix, then a longest common subsequence.
export function wordDiff(oldText, newText) {
  var a = tokens(oldText);
  var b = tokens(newText);
  var start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) { start++; }
  var endA = a.length;
  var endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  var midA = a.slice(start, endA);
  var midB = b.slice(start, endB);
  var pieces = [];
  if (start) { pieces.push(["equal", a.slice(0, start).join("")]); }
  if (midA.length * midB.length > 4000000) {
    if (midA.length) { pieces.push(["delete", midA.join("")]); }
    if (midB.length) { pieces.push(["insert", midB.join("")]); }
  } else {
    var n = midA.length;
    var m = midB.length;
    var table = [];
    for (var i = 0; i <= n; i++) { table.push(new Uint32Array(m + 1)); }
    for (i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        table[i][j] = midA[i] === midB[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
      }
    }
    i = 0;
    j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        pieces.push(["equal", midA[i]]); i++; j++;
      } else if (j < m && (i === n || table[i][j + 1] >= table[i + 1][j])) {
        pieces.push(["insert", midB[j]]); j++;
      } else {
        pieces.push(["delete", midA[i]]); i++;
      }
    }
  }
  if (endA < a.length) { pieces.push(["equal", a.slice(endA).join("")]); }
  return pieces;
}

function cue(text) {
  var span = document.createElement("span");
  span.className = "visually-hidden";
  span.textContent = text;
  return span;
}

// Long unchanged passages are shortened so that the differences show without scrolling.
var CONTEXT = 160;

function appendEqual(box, text, first, last) {
  if (text.length <= CONTEXT * 2 + 40) {
    box.appendChild(document.createTextNode(text));
    return;
  }
  box.appendChild(document.createTextNode(first ? "" : text.slice(0, CONTEXT)));
  var gap = document.createElement("span");
  gap.className = "diff-gap";
  gap.textContent = "[… passage identique …]";
  box.appendChild(gap);
  box.appendChild(document.createTextNode(last ? "" : text.slice(text.length - CONTEXT)));
}

function renderSide(pieces, side) {
  var own = side === "theirs" ? "delete" : "insert";
  var visible = pieces.filter(function (piece) { return piece[0] === "equal" || piece[0] === own; });
  // Words changed one after the other read as one change: the spaces between them join the run.
  var runs = [];
  visible.forEach(function (piece, i) {
    var kind = piece[0];
    if (kind === "equal" && /^\s+$/.test(piece[1]) && i > 0 && i < visible.length - 1 &&
        visible[i - 1][0] === own && visible[i + 1][0] === own) {
      kind = own;
    }
    if (runs.length && runs[runs.length - 1][0] === kind) {
      runs[runs.length - 1][1] += piece[1];
    } else {
      runs.push([kind, piece[1]]);
    }
  });
  var box = document.createElement("div");
  box.className = "diff border rounded p-3 text-pre-line";
  runs.forEach(function (run, index) {
    if (run[0] === "equal") {
      appendEqual(box, run[1], index === 0, index === runs.length - 1);
      return;
    }
    var mark = document.createElement(own === "delete" ? "del" : "ins");
    mark.appendChild(cue(own === "delete" ? "[retiré : " : "[ajouté : "));
    mark.appendChild(document.createTextNode(run[1]));
    mark.appendChild(cue("]"));
    box.appendChild(mark);
  });
  return box;
}

function readable(html) {
  return plainText(html).replace(/[ \t]*\n[ \t]*/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
}

function column(title, box) {
  var col = document.createElement("div");
  col.className = "col-md-6";
  var heading = document.createElement("h4");
  heading.className = "h6";
  heading.textContent = title;
  col.appendChild(heading);
  col.appendChild(box);
  return col;
}

function button(text, className, onClick) {
  var b = document.createElement("button");
  b.type = "button";
  b.className = "btn btn-sm " + className;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function alertBox(kind, text) {
  var box = document.createElement("div");
  box.className = "alert alert-" + kind;
  box.setAttribute("role", "alert");
  box.tabIndex = -1;
  box.textContent = text;
  return box;
}

function openPanel(part, children) {
  var panel = part.conflictPanel;
  panel.textContent = "";
  children.forEach(function (child) { panel.appendChild(child); });
  panel.hidden = false;
  children[0].focus();
  panel.scrollIntoView({ block: "start" });
}

function closePanel(part) {
  part.conflictPanel.hidden = true;
  part.conflictPanel.textContent = "";
}

export function showConflict(part, data, mine) {
  part.merging = null;
  part.conflict = {
    revision: data.current_revision,
    theirs: data.current_content || "",
    mine: mine,
    draft: data.merge_draft || "",
  };
  keepLocal(part, mine);
  setState(part, "Conflit : quelqu'un a modifié ce texte au même endroit. Rien n'est perdu : choisissez ci-dessous.", "warning");
  var pieces = wordDiff(readable(part.conflict.theirs), readable(mine));
  var row = document.createElement("div");
  row.className = "row g-3 conflict-view";
  row.appendChild(column("Version enregistrée (la leur)", renderSide(pieces, "theirs")));
  row.appendChild(column("Votre version", renderSide(pieces, "mine")));
  var legend = document.createElement("p");
  legend.className = "small text-muted mt-2";
  legend.textContent = "Barré et marqué « retiré » : ce qui n'est que dans la leur ; souligné et marqué « ajouté » : ce qui n'est que dans la vôtre.";
  var actions = document.createElement("div");
  actions.className = "d-flex flex-wrap gap-2 mb-3";
  actions.appendChild(button("Garder leur version", "btn-outline-secondary", function () { keepTheirs(part); }));
  actions.appendChild(button("Garder ma version", "btn-outline-primary", function () { keepMine(part); }));
  actions.appendChild(button("Fusionner à la main", "btn-primary", function () { startMerge(part); }));
  openPanel(part, [
    alertBox("warning", "Quelqu'un a enregistré ce texte pendant que vous écriviez, au même endroit. " +
      "Rien n'est perdu : votre version est gardée dans l'historique (copie n°" +
      data.conflict_copy_revision + ") et dans ce navigateur. Choisissez ce que devient le texte."),
    row, legend, actions,
  ]);
}

// Leaving the conflict: the text now starts from the saved version.
function endConflict(part) {
  var conflict = part.conflict;
  part.conflict = null;
  closePanel(part);
  setBase(part, conflict.revision);
  return conflict;
}

function keepTheirs(part) {
  var conflict = endConflict(part);
  part.editor.setHTML(conflict.theirs);
  part.saved = editorHtml(part);
  forgetLocal(part);
  setState(part, "Leur version est gardée ; la vôtre reste dans l'historique.", "saved");
  updateCounter(part, part.saved);
}

function keepMine(part) {
  var conflict = endConflict(part);
  part.editor.setHTML(conflict.mine);
  part.saved = conflict.theirs;
  updateCounter(part, editorHtml(part));
  save(part, false);
}

// The marks stand out in the editor (the class never leaves it: the saved text keeps no attribute).
function highlightMarks(part) {
  Array.prototype.slice.call(part.surface.querySelectorAll("p")).forEach(function (p) {
    p.classList.toggle("clash-mark", clashMarks(p.textContent) > 0);
  });
}

function mergeMessage(count) {
  return count === 0
    ? "Plus aucune marque de conflit : relisez le texte puis enregistrez la fusion."
    : "Fusion en cours, rien n'est encore enregistré : " + count + " marque" + (count > 1 ? "s" : "") +
      " « ⟦ … ⟧ » à retirer. Là où vous avez modifié les mêmes paragraphes, les deux versions se suivent : " +
      "gardez ce qui doit rester, supprimez le reste et les marques.";
}

function startMerge(part) {
  var conflict = endConflict(part);
  part.merging = { theirs: conflict.theirs };
  part.editor.setHTML(conflict.draft || conflict.theirs);
  part.saved = conflict.theirs;
  highlightMarks(part);
  keepLocal(part, editorHtml(part));
  var status = document.createElement("p");
  status.className = "merge-status small mb-2";
  status.setAttribute("aria-live", "polite");
  part.merging.status = status;
  var actions = document.createElement("div");
  actions.className = "d-flex flex-wrap gap-2 mb-3";
  actions.appendChild(button("Enregistrer la fusion", "btn-primary", function () { confirmMerge(part); }));
  actions.appendChild(button("Revenir à leur version", "btn-outline-secondary", function () {
    part.merging = null;
    closePanel(part);
    part.editor.setHTML(conflict.theirs);
    part.saved = editorHtml(part);
    forgetLocal(part);
    setState(part, "Leur version est gardée ; la vôtre reste dans l'historique.", "saved");
    updateCounter(part, part.saved);
  }));
  openPanel(part, [
    alertBox("info", "Fusion à la main : le texte ci-dessous réunit déjà les modifications de chacun là où elles ne se touchent pas. Rien n'est enregistré avant « Enregistrer la fusion »."),
    status, actions,
  ]);
  mergeEdited(part);
  part.editor.focus();
}

// While merging, every change is kept in this browser and counted, never sent on its own.
export function mergeEdited(part) {
  var html = editorHtml(part);
  var count = clashMarks(html);
  part.merging.status.textContent = mergeMessage(count);
  highlightMarks(part);
  keepLocal(part, html);
  setState(part, "Fusion non enregistrée : elle est conservée dans ce navigateur.", "warning");
  updateCounter(part, html);
}

export function confirmMerge(part) {
  var count = clashMarks(editorHtml(part));
  if (count) {
    part.merging.status.setAttribute("role", "alert");
    part.merging.status.textContent = "La fusion n'est pas enregistrée : il reste " + count + " marque" +
      (count > 1 ? "s" : "") + " « ⟦ … ⟧ » à retirer. Gardez de chaque version ce qui doit rester, puis supprimez les marques.";
    return;
  }
  part.merging = null;
  closePanel(part);
  save(part, false);
}
