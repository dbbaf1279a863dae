/* The visible-character count, by the server's rule (app/richtext.visible_length). */

var DROPPED = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, IFRAME: 1, NOSCRIPT: 1, OBJECT: 1, SVG: 1, MATH: 1 };
var PARAGRAPHS = { P: 1, H1: 1, H2: 1, H3: 1, H4: 1, H5: 1, H6: 1, BLOCKQUOTE: 1, TABLE: 1, DIV: 1 };
var numberFormat = new Intl.NumberFormat("fr-FR");

function extractText(node, out) {
  for (var child = node.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === 3) {
      out.push(child.data.replace(/[ \t\n\r\f]+/g, " "));
      continue;
    }
    if (child.nodeType !== 1) {
      continue;
    }
    var tag = child.nodeName.toUpperCase();
    if (DROPPED[tag]) {
      continue;
    }
    if (tag === "BR") {
      out.push("\n");
    } else if (tag === "UL" || tag === "OL" || PARAGRAPHS[tag]) {
      out.push("\n\n");
      extractText(child, out);
      out.push("\n\n");
      continue;
    } else if (tag === "LI") {
      out.push("\n- ");
    } else if (tag === "TR") {
      out.push("\n");
    } else if (tag === "TD" || tag === "TH") {
      out.push("\t");
    }
    extractText(child, out);
  }
  return out;
}

export function parseFragment(html) {
  var template = document.createElement("template");
  template.innerHTML = html;
  return template.content;
}

export function plainText(html) {
  return extractText(parseFragment(html), []).join("");
}

export function visibleLength(html) {
  // Same rule as the server: `[...text.normalize("NFC").replace(/\s+/g, " ").trim()].length`.
  return Array.from(plainText(html).normalize("NFC").replace(/\s+/g, " ").trim()).length;
}

export function formatCount(length, limit) {
  var text = numberFormat.format(length) + (limit ? " / " + numberFormat.format(limit) : "") + " caractères";
  return limit && length > limit ? text + " — au-delà de la limite" : text;
}
