"""French typography for the dossier: narrow no-break spaces where French puts them, on text only."""

from __future__ import annotations

import re

from app.richtext import sanitize_html

NNBSP = "\u202f"

_BEFORE_PUNCTUATION = re.compile("[ \u00a0]+([;:!?»])")
_AFTER_GUILLEMET = re.compile("(«)[ \u00a0]+")
_BEFORE_PERCENT = re.compile(r"(\d) %")
_TAG = re.compile(r"(<[^>]*>)")


def french_spacing(text: str) -> str:
    """Narrow no-break spaces before « ; : ! ? » and inside guillemets, a no-break one before « % »."""
    text = _BEFORE_PERCENT.sub("\\1\u00a0%", text)
    text = _BEFORE_PUNCTUATION.sub(NNBSP + r"\1", text)
    return _AFTER_GUILLEMET.sub(r"\1" + NNBSP, text)


def french_spacing_html(html: str) -> str:
    """`french_spacing` on the text nodes of sanitised HTML only (tags and attributes untouched)."""
    return "".join(piece if piece.startswith("<") else french_spacing(piece) for piece in _TAG.split(html))


def rich_text(html: str | None) -> str:
    """A stored text, sanitised again (whatever was stored) and spaced the French way."""
    return french_spacing_html(sanitize_html(html or ""))
