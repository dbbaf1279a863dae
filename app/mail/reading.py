"""An e-mail of the outbox as an administrator reads it: its HTML made safe, and the links it carries."""

from __future__ import annotations

import re

from markupsafe import Markup

from app.mail.models import OutboxMessage
from app.richtext import sanitize_html

_HEAD = re.compile(r"<head\b.*?</head\s*>", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def safe_html(message: OutboxMessage) -> Markup:
    """The message's HTML reduced to what the rich-text sanitiser allows: no script, style or image."""
    return Markup(sanitize_html(_HEAD.sub("", message.html_body)))


def links_of(message: OutboxMessage) -> list[str]:
    """Every web address the message gives, in order, once each (an invitation's link, say)."""
    seen: dict[str, None] = {}
    for link in _LINK.findall(message.text_body):
        seen.setdefault(link.rstrip(".,;:"), None)
    return list(seen)
