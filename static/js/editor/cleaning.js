/* Cleaning what enters the editor (paste from Word, LibreOffice, Google Docs) and what leaves it:
   only the tags the server's sanitiser keeps. */

import { parseFragment } from "./counting.js";

var ALLOWED_TAGS = ["p", "br", "strong", "em", "u", "s", "ul", "ol", "li", "h3", "h4",
  "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td"];
// Tags the editor itself produces or that pasted documents use, renamed to the allowed ones.
var RENAMED = { B: "STRONG", I: "EM", STRIKE: "S", DEL: "S", INS: "U", H1: "H3", H2: "H3", H5: "H4", H6: "H4", DIV: "P" };

function unwrap(element) {
  var parent = element.parentNode;
  while (element.firstChild) {
    parent.insertBefore(element.firstChild, element);
  }
  parent.removeChild(element);
}

export function rename(element, tag) {
  var replacement = element.ownerDocument.createElement(tag);
  while (element.firstChild) {
    replacement.appendChild(element.firstChild);
  }
  element.parentNode.replaceChild(replacement, element);
  return replacement;
}

// Word marks list paragraphs with mso-list styles and writes the bullet as text: rebuild real lists.
function wordLists(doc) {
  var currentList = null;
  Array.prototype.slice.call(doc.querySelectorAll("p")).forEach(function (p) {
    var style = p.getAttribute("style") || "";
    var isItem = /mso-list:\s*l\d/.test(style) || /MsoListParagraph/.test(p.className || "");
    if (!isItem) {
      currentList = null;
      return;
    }
    var marker = "";
    Array.prototype.slice.call(p.querySelectorAll("span")).forEach(function (span) {
      if (/mso-list:\s*Ignore/i.test(span.getAttribute("style") || "")) {
        marker += span.textContent;
        span.parentNode.removeChild(span);
      }
    });
    var ordered = /^\s*[0-9a-zA-Z]{1,3}[.)]/.test(marker);
    if (!currentList || p.previousElementSibling !== currentList) {
      currentList = doc.createElement(ordered ? "ol" : "ul");
      p.parentNode.insertBefore(currentList, p);
    }
    var item = doc.createElement("li");
    while (p.firstChild) {
      item.appendChild(p.firstChild);
    }
    currentList.appendChild(item);
    p.parentNode.removeChild(p);
  });
}

// Bold written as a style (Google Docs, Word): keep it as <strong>.
function styledBold(doc) {
  Array.prototype.slice.call(doc.querySelectorAll("span[style]")).forEach(function (span) {
    var style = span.getAttribute("style") || "";
    if (/font-weight:\s*(bold|[6-9]00)/.test(style)) {
      rename(span, "strong");
    } else if (/font-style:\s*italic/.test(style)) {
      rename(span, "em");
    }
  });
}

function prepareForeignHtml(html) {
  var doc = new DOMParser().parseFromString(html, "text/html");
  Array.prototype.slice.call(doc.querySelectorAll("style, script, meta, link, title, xml")).forEach(function (el) {
    el.parentNode.removeChild(el);
  });
  wordLists(doc);
  styledBold(doc);
  return doc.body ? doc.body.innerHTML : "";
}

// Reduce a fragment to the allowed tags; `forEditor` keeps Squire's own B and I for its buttons.
function normalise(fragment, forEditor) {
  Array.prototype.slice.call(fragment.querySelectorAll("*")).forEach(function (element) {
    var tag = element.nodeName.toUpperCase();
    if (RENAMED[tag]) {
      element = rename(element, RENAMED[tag]);
      tag = element.nodeName.toUpperCase();
    }
    if (forEditor && tag === "STRONG") {
      element = rename(element, "B");
      tag = "B";
    } else if (forEditor && tag === "EM") {
      element = rename(element, "I");
      tag = "I";
    }
    var allowed = ALLOWED_TAGS.indexOf(tag.toLowerCase()) >= 0 || (forEditor && (tag === "B" || tag === "I"));
    if (!allowed) {
      unwrap(element);
      return;
    }
    Array.prototype.slice.call(element.attributes).forEach(function (attribute) {
      if (!(tag === "A" && attribute.name === "href")) {
        element.removeAttribute(attribute.name);
      }
    });
  });
  if (!forEditor) {
    // Squire keeps a <br> in empty blocks for the caret: an empty paragraph is not text.
    Array.prototype.slice.call(fragment.querySelectorAll("p, h3, h4, li, td, th")).forEach(function (block) {
      var last = block.lastChild;
      if (last && last.nodeName === "BR" && block.childNodes.length > 1) {
        block.removeChild(last);
      }
      if (block.nodeName !== "TD" && block.nodeName !== "TH" && block.nodeName !== "LI" &&
          !block.textContent.replace(/\s+/g, "") && !block.querySelector("br ~ *")) {
        block.parentNode.removeChild(block);
      }
    });
  }
  return fragment;
}

export function sanitiseForEditor(html) {
  var clean = window.DOMPurify.sanitize(prepareForeignHtml(html), {
    ALLOWED_TAGS: ALLOWED_TAGS.concat(["b", "i", "div", "span", "h1", "h2", "h5", "h6", "strike", "del", "ins"]),
    ALLOWED_ATTR: ["href"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  return document.importNode(normalise(clean, true), true);
}

// The editor's text as the server stores it.
export function editorHtml(part) {
  var fragment = parseFragment(part.editor.getHTML());
  normalise(fragment, false);
  var holder = document.createElement("div");
  holder.appendChild(fragment);
  return holder.innerHTML;
}
