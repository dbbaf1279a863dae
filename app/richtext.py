"""Rich text: the one HTML sanitiser of the application, and what is measured or read from its output.

Every HTML fragment that is stored (editor saves, imported documents) goes through
`sanitize_html`; templates may then mark it safe. The same allow-list is used everywhere so
that a text which survived one path survives all of them unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from typing import Final

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "h3",
        "h4",
        "blockquote",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"

# Tags whose content is code or foreign markup, never prose: dropped with everything inside.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "template", "iframe", "noscript", "object", "svg", "math"}
)

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    # "*" replaces ammonia's default generic attributes (title, lang), which would otherwise stay.
    attributes={"a": {"href"}, "*": set()},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    # Relative and protocol-relative links mean nothing in a PDF or an e-mail, and "//host" is a
    # way round the scheme list: only absolute http(s)/mailto links are kept.
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)

_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags=set(_DROPPED_WITH_CONTENT), attributes={})
_MAX_PASSES = 4

# C0 controls except tab, line feed and carriage return, DEL and the C1 controls. NUL is refused
# by PostgreSQL; the others are invisible garbage pasted from word processors.
CONTROL_CHARACTERS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")
# What HTML itself collapses: ASCII whitespace only, so that French non-breaking spaces survive.
_HTML_WHITESPACE = re.compile("[ \t\n\r\f]+")

# Tags that start and end a paragraph of plain text.
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "div"})
_LIST_TAGS = frozenset({"ul", "ol"})
_CELL_TAGS = frozenset({"td", "th"})


def _clean(html: str, cleaner: nh3.Cleaner = _CLEANER) -> str:
    # Controls are removed before parsing (so they cannot hide a tag) and after (character
    # references such as "&#1;" decode into them).
    return CONTROL_CHARACTERS.sub("", cleaner.clean(CONTROL_CHARACTERS.sub("", html)))


def sanitize_html(html: str) -> str:
    """The HTML fragment reduced to the allowed tags, attributes and link schemes; idempotent."""
    # One pass is not always a fixed point: misnested markup ("<a><table><a>") serialises into a
    # tree that parses differently the next time. Stored text must survive export and import
    # unchanged, so cleaning is repeated until it no longer changes anything.
    cleaned = _clean(html)
    for _attempt in range(_MAX_PASSES):
        again = _clean(cleaned)
        if again == cleaned:
            return cleaned
        cleaned = again
    # Pathological markup that never settles keeps its text and loses its tags.
    return _clean(cleaned, _TEXT_ONLY)


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, marking where paragraphs, lines and cells fall.

    Marks are "\n\n" (paragraph), "\n" (line) and "\t" (cell); links may be followed by their
    address in brackets, which plain-text e-mails need and length counts must not see.
    """

    def __init__(self, *, show_links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._show_links = show_links
        self._skipped_depth = 0
        self._list_depth = 0
        self._link_href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._skipped_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _LIST_TAGS:
            # A nested list continues its parent item's paragraph.
            if not self._list_depth:
                self.parts.append("\n\n")
            self._list_depth += 1
        elif tag == "li":
            self.parts.append("\n" + "  " * max(self._list_depth - 1, 0) + "- ")
        elif tag in _PARAGRAPH_TAGS:
            self.parts.append("\n\n")
        elif tag == "tr":
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append("\t")
        elif tag == "a":
            self._link_href = dict(attrs).get("href")
            self._link_text = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<br/>" and the like: a void element never opens anything.
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._skipped_depth = max(self._skipped_depth - 1, 0)
        elif tag in _LIST_TAGS:
            self._list_depth = max(self._list_depth - 1, 0)
            if not self._list_depth:
                self.parts.append("\n\n")
        elif tag in _PARAGRAPH_TAGS:
            self.parts.append("\n\n")
        elif tag == "a" and self._link_href is not None:
            text = "".join(self._link_text).strip()
            target = self._link_href.removeprefix("mailto:")
            if self._show_links and target and target != text:
                self.parts.append(f" ({target})")
            self._link_href = None

    def handle_data(self, data: str) -> None:
        if self._skipped_depth:
            return
        # Line breaks in the source are spaces to HTML; only the marks above make new lines.
        data = _HTML_WHITESPACE.sub(" ", data)
        self.parts.append(data)
        if self._link_href is not None:
            self._link_text.append(data)


def _extract(html: str, *, show_links: bool) -> list[str]:
    extractor = _TextExtractor(show_links=show_links)
    extractor.feed(html)
    extractor.close()
    return extractor.parts


def visible_length(html: str) -> int:
    """Number of characters a reader sees: tags not counted, an entity is one character.

    Counting rule (the editor's counter must apply the same one): the text is NFC-normalised
    (a decomposed "é" is one character), block boundaries and line breaks count as a space,
    every run of whitespace (non-breaking spaces included) counts as one space, leading and
    trailing whitespace is not counted, and the result is the number of Unicode code points.
    In JavaScript: `[...text.normalize("NFC").replace(/\\s+/g, " ").trim()].length`.
    """
    text = "".join(_extract(html, show_links=False))
    text = unicodedata.normalize("NFC", text)
    return len(_WHITESPACE.sub(" ", text).strip())


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: paragraphs separated by a blank line, list items with "- "."""
    raw = "".join(_extract(html, show_links=True))
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t]*\n", raw):
        lines = []
        for line in block.split("\n"):
            # Spaces around marks are insignificant, except the indentation of nested list items.
            indent = re.match(r" *(?=- )", line)
            cells = [_HTML_WHITESPACE.sub(" ", cell).strip(" ") for cell in line.split("\t")]
            text = "\t".join(cells).strip()
            if text:
                lines.append((indent.group(0) if indent else "") + text)
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)
