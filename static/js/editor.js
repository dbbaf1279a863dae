/* Writing page: rich-text editor (Squire), live character count, autosave through the API,
   copies kept in this browser until the server confirms, conflict view, presence heartbeat.
   Without JavaScript the page works with its plain text areas and forms. */
(function () {
  "use strict";

  var root = document.getElementById("section-editing");
  if (!root || typeof window.Squire !== "function" || typeof window.DOMPurify === "undefined") {
    return;
  }
  if (root.dataset.apiAvailable !== "oui") {
    // The API is not there yet: the plain forms keep working.
    return;
  }

  var SLUG = root.dataset.slug;
  var CODE = root.dataset.code;
  var API_URL = root.dataset.apiUrl;
  var PRESENCE_URL = root.dataset.presenceUrl;
  var SAVE_DELAY_MS = 2000;
  var HEARTBEAT_MS = 30000;
  var MAX_RETRY_MS = 60000;
  var STORE_PREFIX = "consortio:" + SLUG + ":" + CODE + ":";
  var ALLOWED_TAGS = ["p", "br", "strong", "em", "u", "s", "ul", "ol", "li", "h3", "h4",
    "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td"];
  // Tags the editor itself produces or that pasted documents use, renamed to the allowed ones.
  var RENAMED = { B: "STRONG", I: "EM", STRIKE: "S", DEL: "S", INS: "U", H1: "H3", H2: "H3", H5: "H4", H6: "H4", DIV: "P" };
  var isMac = /Mac|iPhone|iPad/.test(navigator.platform || "");
  var CTRL = isMac ? "Meta-" : "Ctrl-";
  var numberFormat = new Intl.NumberFormat("fr-FR");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.content : "";
  var parts = [];

  // ---------------------------------------------------------------- counting (app/richtext.visible_length)

  var DROPPED = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, IFRAME: 1, NOSCRIPT: 1, OBJECT: 1, SVG: 1, MATH: 1 };
  var PARAGRAPHS = { P: 1, H1: 1, H2: 1, H3: 1, H4: 1, H5: 1, H6: 1, BLOCKQUOTE: 1, TABLE: 1, DIV: 1 };

  function extractText(node, out, depth) {
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
      } else if (tag === "UL" || tag === "OL") {
        out.push("\n\n");
        extractText(child, out, depth + 1);
        out.push("\n\n");
        continue;
      } else if (tag === "LI") {
        out.push("\n- ");
      } else if (PARAGRAPHS[tag]) {
        out.push("\n\n");
        extractText(child, out, depth);
        out.push("\n\n");
        continue;
      } else if (tag === "TR") {
        out.push("\n");
      } else if (tag === "TD" || tag === "TH") {
        out.push("\t");
      }
      extractText(child, out, depth);
    }
    return out;
  }

  function parseFragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function plainText(html) {
    return extractText(parseFragment(html), [], 0).join("");
  }

  function visibleLength(html) {
    // Same rule as the server: `[...text.normalize("NFC").replace(/\s+/g, " ").trim()].length`.
    return Array.from(plainText(html).normalize("NFC").replace(/\s+/g, " ").trim()).length;
  }

  function formatCount(length, limit) {
    var text = numberFormat.format(length) + (limit ? " / " + numberFormat.format(limit) : "") + " caractères";
    return limit && length > limit ? text + " — au-delà de la limite" : text;
  }

  // ---------------------------------------------------------------- cleaning (paste from Word, editor output)

  function unwrap(element) {
    var parent = element.parentNode;
    while (element.firstChild) {
      parent.insertBefore(element.firstChild, element);
    }
    parent.removeChild(element);
  }

  function rename(element, tag) {
    var replacement = element.ownerDocument.createElement(tag);
    while (element.firstChild) {
      replacement.appendChild(element.firstChild);
    }
    element.parentNode.replaceChild(replacement, element);
    return replacement;
  }

  // Word marks list paragraphs with mso-list styles and writes the bullet as text: rebuild real lists.
  function wordLists(doc) {
    var paragraphs = Array.prototype.slice.call(doc.querySelectorAll("p"));
    var currentList = null;
    paragraphs.forEach(function (p) {
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
      var previous = p.previousElementSibling;
      if (!currentList || previous !== currentList) {
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
    var elements = Array.prototype.slice.call(fragment.querySelectorAll("*"));
    elements.forEach(function (element) {
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

  function sanitiseForEditor(html) {
    var clean = DOMPurify.sanitize(prepareForeignHtml(html), {
      ALLOWED_TAGS: ALLOWED_TAGS.concat(["b", "i", "div", "span", "h1", "h2", "h5", "h6", "strike", "del", "ins"]),
      ALLOWED_ATTR: ["href"],
      ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
      RETURN_DOM_FRAGMENT: true,
    });
    return document.importNode(normalise(clean, true), true);
  }

  function editorHtml(part) {
    var fragment = parseFragment(part.editor.getHTML());
    normalise(fragment, false);
    var holder = document.createElement("div");
    holder.appendChild(fragment);
    return holder.innerHTML;
  }

  // ---------------------------------------------------------------- toolbar

  function setBlock(editor, tag) {
    editor.modifyBlocks(function (fragment) {
      Array.prototype.slice.call(fragment.childNodes).forEach(function (node) {
        if (node.nodeType === 1 && /^(P|H3|H4|DIV)$/.test(node.nodeName)) {
          var current = node.nodeName;
          rename(node, current === tag ? "P" : tag);
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

  function link(editor) {
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

  function buildToolbar(part) {
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
    // One tab stop for the toolbar; arrows move between its buttons (ARIA toolbar pattern).
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

  function refreshToolbar(part) {
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

  // ---------------------------------------------------------------- local copies

  function storeKey(part) {
    return STORE_PREFIX + part.key + ":" + part.base;
  }

  function forgetLocal(part) {
    try {
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf(STORE_PREFIX + part.key + ":") === 0) {
          localStorage.removeItem(key);
        }
      });
    } catch (error) { /* storage disabled: nothing to forget */ }
  }

  function keepLocal(part, html) {
    try {
      forgetLocal(part);
      localStorage.setItem(storeKey(part), JSON.stringify({ content: html, base: part.base, at: Date.now() }));
      return true;
    } catch (error) {
      return false;
    }
  }

  function findLocal(part) {
    try {
      var found = null;
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf(STORE_PREFIX + part.key + ":") === 0) {
          var value = JSON.parse(localStorage.getItem(key));
          if (value && typeof value.content === "string" && typeof value.base === "number") {
            found = value;
          }
        }
      });
      return found;
    } catch (error) {
      return null;
    }
  }

  // ---------------------------------------------------------------- saving

  function time(date) {
    return date.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Paris" });
  }

  function setState(part, text, kind) {
    part.state.textContent = text;
    part.state.className = "save-state small mb-0 me-auto" + (kind ? " state-" + kind : " text-muted");
  }

  function updateCounter(part, html) {
    var length = visibleLength(html);
    part.counter.textContent = formatCount(length, part.limit);
    part.counter.classList.toggle("over-limit", Boolean(part.limit && length > part.limit));
  }

  function onChange(part) {
    var html = editorHtml(part);
    updateCounter(part, html);
    if (html === part.saved) {
      return;
    }
    part.active = Date.now();
    keepLocal(part, html);
    if (part.conflict) {
      setState(part, "Conflit à régler : votre texte est conservé dans ce navigateur.", "warning");
      return;
    }
    setState(part, "Modifications non enregistrées…", "pending");
    schedule(part, SAVE_DELAY_MS);
  }

  function schedule(part, delay) {
    window.clearTimeout(part.timer);
    part.timer = window.setTimeout(function () { save(part, false); }, delay);
  }

  function retry(part, message, kind) {
    setState(part, message, kind || "offline");
    part.retryDelay = Math.min(part.retryDelay ? part.retryDelay * 2 : 2000, MAX_RETRY_MS);
    schedule(part, part.retryDelay);
  }

  function apiUrl(part) {
    return API_URL + (part.partner ? "?partner=" + encodeURIComponent(part.partner) : "");
  }

  function othersNames(part) {
    var names = part.presence.textContent.split(/ modifie ce texte depuis [^\n]*/).map(function (s) {
      return s.replace(/^\s*⚠\s*/, "").trim();
    }).filter(Boolean);
    return names.length ? names.join(", ") : "une autre personne";
  }

  function save(part, leaving) {
    window.clearTimeout(part.timer);
    if (part.conflict) {
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
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken },
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
      part.base = data.revision;
      part.baseField.value = String(data.revision);
      var typedSince = editorHtml(part) !== html;
      if (data.merged) {
        if (typedSince) {
          // Keep the older base: the next save merges the new words with everybody's changes.
          part.base = sentBase;
          part.baseField.value = String(sentBase);
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
      showConflict(part, data, html);
      return;
    }
    if (status === 400 && data.error === "csrf" && data.csrf_token) {
      csrfToken = data.csrf_token;
      if (csrfMeta) {
        csrfMeta.content = csrfToken;
      }
      retry(part, "Reconnexion au serveur… vos modifications sont conservées dans ce navigateur", "pending");
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

  // ---------------------------------------------------------------- conflict view

  function tokens(text) {
    return text.split(/(\s+)/).filter(function (token) { return token !== ""; });
  }

  // Word-level differences: common prefix and suffix, then a longest common subsequence.
  function wordDiff(oldText, newText) {
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
    var head = first ? "" : text.slice(0, CONTEXT);
    var tail = last ? "" : text.slice(text.length - CONTEXT);
    box.appendChild(document.createTextNode(head));
    var gap = document.createElement("span");
    gap.className = "diff-gap";
    gap.textContent = "[… passage identique …]";
    box.appendChild(gap);
    box.appendChild(document.createTextNode(tail));
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

  function showConflict(part, data, mine) {
    part.conflict = { revision: data.current_revision, theirs: data.current_content || "", mine: mine };
    keepLocal(part, mine);
    setState(part, "Conflit : quelqu'un a modifié ce texte au même endroit. Rien n'est perdu : choisissez ci-dessous.", "warning");
    var panel = part.conflictPanel;
    panel.textContent = "";
    var alert = document.createElement("div");
    alert.className = "alert alert-warning";
    alert.setAttribute("role", "alert");
    alert.textContent = "Quelqu'un a enregistré ce texte pendant que vous écriviez, au même endroit. " +
      "Rien n'est perdu : votre version est gardée dans l'historique (copie n°" +
      data.conflict_copy_revision + ") et dans ce navigateur. Choisissez ce que devient le texte.";
    panel.appendChild(alert);
    var pieces = wordDiff(readable(part.conflict.theirs), readable(mine));
    var row = document.createElement("div");
    row.className = "row g-3 conflict-view";
    row.appendChild(column("Version enregistrée (la leur)", renderSide(pieces, "theirs")));
    row.appendChild(column("Votre version", renderSide(pieces, "mine")));
    panel.appendChild(row);
    var legend = document.createElement("p");
    legend.className = "small text-muted mt-2";
    legend.textContent = "Barré et marqué « retiré » : ce qui n'est que dans la leur ; souligné et marqué « ajouté » : ce qui n'est que dans la vôtre.";
    panel.appendChild(legend);
    var actions = document.createElement("div");
    actions.className = "d-flex flex-wrap gap-2 mb-3";
    actions.appendChild(button("Garder leur version", "btn-outline-secondary", function () { resolveConflict(part, "theirs"); }));
    actions.appendChild(button("Garder ma version", "btn-outline-primary", function () { resolveConflict(part, "mine"); }));
    actions.appendChild(button("Fusionner à la main", "btn-primary", function () { resolveConflict(part, "merge"); }));
    panel.appendChild(actions);
    panel.hidden = false;
    alert.tabIndex = -1;
    alert.focus();
    panel.scrollIntoView({ block: "start" });
  }

  function resolveConflict(part, choice) {
    var conflict = part.conflict;
    part.conflict = null;
    part.conflictPanel.hidden = true;
    part.conflictPanel.textContent = "";
    part.base = conflict.revision;
    part.baseField.value = String(conflict.revision);
    if (choice === "theirs") {
      part.editor.setHTML(conflict.theirs);
      part.saved = editorHtml(part);
      forgetLocal(part);
      setState(part, "Leur version est gardée ; la vôtre reste dans l'historique.", "saved");
    } else if (choice === "mine") {
      part.editor.setHTML(conflict.mine);
      part.saved = conflict.theirs;
      save(part, false);
    } else {
      part.editor.setHTML(conflict.theirs + conflict.mine);
      part.saved = conflict.theirs;
      keepLocal(part, editorHtml(part));
      setState(part, "Fusion en cours : gardez le meilleur des deux textes, l'enregistrement suit automatiquement.", "pending");
      part.editor.focus();
      schedule(part, SAVE_DELAY_MS * 5);
    }
    updateCounter(part, editorHtml(part));
  }

  // ---------------------------------------------------------------- presence

  function heartbeat(leaving) {
    var body = new URLSearchParams();
    var current = null;
    parts.forEach(function (part) {
      if (part.active && Date.now() - part.active < 120000 && (!current || part.active > current.active)) {
        current = part;
      }
    });
    if (current) {
      if (current.partner) {
        body.set("partenaire", current.partner);
      } else {
        body.set("commun", "1");
      }
      if (leaving) {
        body.set("depart", "1");
      }
    } else if (leaving) {
      return;
    }
    fetch(PRESENCE_URL, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(leaving),
      headers: { "X-CSRFToken": csrfToken, "Accept": "application/json" },
      body: body,
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (!data || !data.editors) {
        return;
      }
      document.querySelectorAll("[data-presence-for]").forEach(function (element) {
        var names = data.editors[element.dataset.presenceFor] || [];
        element.textContent = "";
        names.forEach(function (line) {
          var span = document.createElement("span");
          span.className = "d-block";
          span.textContent = "⚠ " + line;
          element.appendChild(span);
        });
      });
    }).catch(function () { /* advisory only */ });
  }

  // ---------------------------------------------------------------- set-up

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
    var toolbar = buildToolbar(part);
    textarea.parentNode.insertBefore(toolbar, textarea);
    textarea.parentNode.insertBefore(surface, textarea);
    part.editor = new window.Squire(surface, {
      blockTag: "P",
      sanitizeToDOMFragment: sanitiseForEditor,
    });
    // Code blocks are not part of the exchange format; headings get their own shortcuts.
    part.editor.setKeyHandler(CTRL + "d", function (self, event) { event.preventDefault(); });
    part.editor.setKeyHandler(CTRL + "Shift-1", function (self, event) { event.preventDefault(); setBlock(self, "H3"); });
    part.editor.setKeyHandler(CTRL + "Shift-2", function (self, event) { event.preventDefault(); setBlock(self, "H4"); });
    part.editor.setKeyHandler(CTRL + "k", function (self, event) { event.preventDefault(); link(self); });
    var serverHtml = textarea.value;
    part.editor.setHTML(serverHtml);
    part.saved = editorHtml(part);
    part.editor.addEventListener("input", function () { onChange(part); });
    part.editor.addEventListener("pathChange", function () { refreshToolbar(part); });
    part.editor.addEventListener("focus", function () { part.active = Date.now(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
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
      part.base = local.base;
      part.baseField.value = String(local.base);
      part.editor.setHTML(local.content);
      updateCounter(part, editorHtml(part));
      setState(part, "Votre texte non enregistré a été repris de ce navigateur ; enregistrement…", "pending");
      part.active = Date.now();
      schedule(part, 300);
    } else if (local) {
      forgetLocal(part);
    }
    parts.push(part);
  }

  document.querySelectorAll("form.text-form").forEach(setUp);

  function flush() {
    parts.forEach(function (part) {
      var html = editorHtml(part);
      if (html !== part.saved) {
        keepLocal(part, html);
        save(part, true);
      }
    });
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
    parts.forEach(function (part) {
      if (editorHtml(part) !== part.saved) {
        schedule(part, 100);
      }
    });
  });
  window.addEventListener("beforeunload", function (event) {
    flush();
    // The text is kept in this browser either way; warn only when the server is not taking it.
    var failing = parts.some(function (part) {
      return editorHtml(part) !== part.saved && (part.retryDelay || part.conflict);
    });
    if (failing) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  heartbeat(false);
  window.setInterval(function () { heartbeat(false); }, HEARTBEAT_MS);

  // For the browser tests and the curious: the counting rule, checkable against the server's.
  window.consortioEditor = { visibleLength: visibleLength, wordDiff: wordDiff, parts: parts };
})();
