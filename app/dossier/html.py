"""The dossier's HTML: one template for the PDF and for the preview in the browser.

The template gets only the `Dossier`'s plain values, through its own Jinja environment (autoescaped,
sandboxed: a name like `{{7*7}}` is text, never code). The PDF inlines nothing: its stylesheet is
fetched by URL through the PDF's fetcher, like the preview's through the browser (the CSP allows
only `style-src 'self'`: no inline style, no script).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from app.dossier.document import Dossier, french_spacing
from app.dossier.pdf import BASE_URL, STATIC_PREFIX
from app.money import format_eur, format_share
from app.templating import french_date, french_datetime, french_integer

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "dossier" / "print"
STYLESHEET = "css/dossier.css"


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        eur=format_eur,
        share=format_share,
        date_fr=french_date,
        datetime_fr=french_datetime,
        integer=french_integer,
        fr=french_spacing,
    )
    return environment


def _static_url(filename: str, *, preview: bool) -> str:
    if preview and has_app_context():
        return f"{(current_app.static_url_path or '/static').rstrip('/')}/{filename}"
    return f"{BASE_URL.rstrip('/')}{STATIC_PREFIX}{filename}"


def _render(name: str, dossier: Dossier, *, preview: bool = False, **values: object) -> str:
    template = _environment().get_template(name)
    return template.render(
        dossier=dossier, preview=preview, stylesheet=_static_url(STYLESHEET, preview=preview), **values
    )


def dossier_html(dossier: Dossier, *, preview: bool = False) -> str:
    """The whole dossier as one HTML document (same template for the PDF and the preview)."""
    return _render("dossier.html", dossier, preview=preview)


def piece_html(dossier: Dossier, only: str, toc_pages: dict[str, int] | None = None) -> str:
    """One piece of the dossier as a document of its own, for the PDF: the front matter (`only` is
    "front"; `toc_pages` gives each chapter's first page) or the chapter whose anchor is `only`."""
    return _render("dossier.html", dossier, only=only, toc_pages=toc_pages)


def overlay_html(dossier: Dossier, sheets: list[tuple[bool, str]]) -> str:
    """The pages' running headers and footers alone, one sheet per page of the assembled dossier
    (`sheets`: whether the page is landscape, and the chapter its header names)."""
    return _render("_overlay.html", dossier, sheets=sheets, css_string=css_string)


def css_string(text: str) -> str:
    """A CSS string literal holding `text` (quotes, backslashes and line breaks escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{escaped}"'
