"""The dossier's PDF: WeasyPrint with a fetcher that only serves our static assets, under bounds.

How the bounds are kept: each render runs in a child process forked from the current one (the
"fork" start method, so WeasyPrint and the fonts are already loaded: the fork costs milliseconds,
not an import). The child limits its own address space (RLIMIT_AS: what it already maps plus
DOSSIER_RENDER_MEMORY_MB), renders and sends the bytes back through a pipe; the parent waits at
most DOSSIER_RENDER_TIMEOUT seconds and kills it otherwise. A thread cannot be stopped nor its
memory capped, and a runaway layout would take the worker with it; a child can be killed cleanly
and a crash in it is only a failed render. At most DOSSIER_MAX_CONCURRENT_RENDERS renders run at
once in a process (a semaphore), since each one takes a core and up to a few hundred MiB.
"""

from __future__ import annotations

import base64
import binascii
import gc
import logging
import multiprocessing
import os
import posixpath
import re
import resource
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, has_app_context
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from app.errors import DomainError

# The document's base URL: a host that does not exist, under which /static/… means our static folder.
# Nothing is ever fetched from the network: the fetcher maps these URLs to files itself.
ASSET_HOST = "consortio.invalid"
BASE_URL = f"https://{ASSET_HOST}/"
STATIC_PREFIX = "/static/"
STATIC_ROOT = Path(__file__).resolve().parents[2] / "static"

MAX_DATA_URL_BYTES = 64 * 1024
DATA_URL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/svg+xml"})
CONTENT_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}
_DATA_URL = re.compile(
    r"\Adata:(?P<type>[a-z0-9.+/-]+)(?P<params>(;[^,;]*)*?)(?P<base64>;base64)?,(?P<data>.*)\Z", re.I | re.S
)

logger = logging.getLogger(__name__)


class RenderError(DomainError):
    """The PDF could not be produced (too long, too big, or failed); the message is French."""

    status_code = 503


class RefusedURL(ValueError):
    """A resource the dossier may not fetch."""


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    page_count: int


class SafeFetcher(URLFetcher):
    """Serves only files of our static folder (no traversal) and small inline images; refuses the rest.

    No file: URL, no remote URL, no redirect: nothing leaves the process and nothing outside the
    static folder is read, whatever a text or a stylesheet asks for."""

    def __init__(self, static_root: Path | None = None) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.static_root = (static_root or _static_root()).resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return self._data(url)
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.netloc != ASSET_HOST or parts.query or parts.username:
            raise RefusedURL(f"Ressource refusée : {url[:200]}")
        path = unquote(parts.path)
        if "\\" in path or "\x00" in path or not path.startswith(STATIC_PREFIX):
            raise RefusedURL(f"Ressource refusée : {url[:200]}")
        relative = posixpath.normpath(path[len(STATIC_PREFIX) :])
        if relative.startswith(("/", "..")) or relative == ".":
            raise RefusedURL(f"Ressource refusée : {url[:200]}")
        target = (self.static_root / relative).resolve()
        if not target.is_relative_to(self.static_root) or not target.is_file():
            raise RefusedURL(f"Ressource introuvable : {url[:200]}")
        content_type = CONTENT_TYPES.get(target.suffix.lower())
        if content_type is None:
            raise RefusedURL(f"Type de ressource refusé : {url[:200]}")
        return URLFetcherResponse(url, target.read_bytes(), {"Content-Type": content_type})

    def _data(self, url: str) -> URLFetcherResponse:
        match = _DATA_URL.match(url)
        if match is None or match["type"].lower() not in DATA_URL_TYPES:
            raise RefusedURL("Donnée intégrée refusée (seules les petites images sont admises).")
        raw = match["data"]
        if len(raw) > MAX_DATA_URL_BYTES * 4 // 3 + 8:
            raise RefusedURL("Image intégrée trop grande.")
        try:
            data = base64.b64decode(raw, validate=True) if match["base64"] else unquote(raw).encode()
        except (binascii.Error, ValueError) as error:
            raise RefusedURL("Image intégrée illisible.") from error
        if len(data) > MAX_DATA_URL_BYTES:
            raise RefusedURL("Image intégrée trop grande.")
        return URLFetcherResponse("data:", data, {"Content-Type": match["type"].lower()})

    def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
        """Never used by WeasyPrint with our fetch(); refuse rather than open anything."""
        raise RefusedURL("Accès refusé.")


def _static_root() -> Path:
    if has_app_context() and current_app.static_folder:
        return Path(current_app.static_folder)
    return STATIC_ROOT


_semaphores: dict[int, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def _semaphore(size: int) -> threading.BoundedSemaphore:
    with _semaphores_lock:
        if size not in _semaphores:
            _semaphores[size] = threading.BoundedSemaphore(size)
        return _semaphores[size]


def weasyprint_only(html: str) -> bytes:
    """Plain WeasyPrint with the same fetcher and base URL, no bounds: the benchmark's reference."""
    data = HTML(string=html, base_url=BASE_URL, url_fetcher=SafeFetcher()).write_pdf()
    assert data is not None
    return data


def _render_here(html: str, static_root: Path, user_css: str | None = None) -> RenderedPdf:
    stylesheets = [CSS(string=user_css)] if user_css else None
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=SafeFetcher(static_root)).render(
        stylesheets=stylesheets
    )
    data = document.write_pdf()
    assert data is not None
    return RenderedPdf(data, len(document.pages))


def _mapped_bytes() -> int:
    """The address space this process maps already (the limit is set on top of it)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(
    connection: Connection, htmls: list[str], static_root: Path, memory_mb: int, user_css: str | None
) -> None:
    try:
        try:
            limit = _mapped_bytes() + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (OSError, ValueError):  # pragma: no cover - not Linux: no memory cap, still a time bound
            pass
        rendered = [_render_here(html, static_root, user_css) for html in htmls]
        connection.send(("ok", [(one.data, one.page_count) for one in rendered]))
    except MemoryError:
        connection.send(("memory", None))
    except BaseException as error:
        connection.send(("error", f"{type(error).__name__}: {error}"[:500]))
    finally:
        connection.close()


def render_pdf(html: str) -> RenderedPdf:
    """The PDF of the dossier's HTML, rendered in a bounded child process; RenderError on failure."""
    return render_pdfs([html])[0]


def render_pdfs(htmls: list[str], *, user_css: str | None = None) -> list[RenderedPdf]:
    """Several documents (a dossier's pieces) rendered one after the other in one bounded child
    process, the time bound counting for all; `user_css` is added to each one's own stylesheets."""
    if not htmls:
        return []
    config = current_app.config
    timeout = int(config["DOSSIER_RENDER_TIMEOUT"])
    memory_mb = int(config["DOSSIER_RENDER_MEMORY_MB"])
    slots = _semaphore(max(1, int(config["DOSSIER_MAX_CONCURRENT_RENDERS"])))
    if not slots.acquire(timeout=timeout):
        raise RenderError("Trop de dossiers sont en cours de fabrication : réessayez dans quelques minutes.")
    try:
        return _render_in_child(htmls, _static_root(), timeout, memory_mb, user_css)
    finally:
        slots.release()


def _render_in_child(
    htmls: list[str], static_root: Path, timeout: int, memory_mb: int, user_css: str | None
) -> list[RenderedPdf]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sender, htmls, static_root, memory_mb, user_css), daemon=True
    )
    # The objects alive now are left out of the child's garbage collections: walking them would copy
    # every page of memory the child shares with this process.
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise RenderError(
                f"La fabrication du PDF a dépassé {timeout} secondes et a été interrompue : "
                "réessayez, ou allégez le dossier."
            )
        try:
            status, payload = receiver.recv()
        except EOFError:
            status, payload = "crash", None
    finally:
        receiver.close()
        if process.is_alive():
            process.join(1)
        if process.is_alive():
            process.kill()
        process.join()
    if status == "ok":
        return [RenderedPdf(data, page_count) for data, page_count in payload]
    if status == "memory":
        raise RenderError(
            f"La fabrication du PDF a dépassé la mémoire permise ({memory_mb} Mio) et a été interrompue."
        )
    logger.error("Dossier render failed: %s (exit code %s)", payload, process.exitcode)
    raise RenderError("La fabrication du PDF a échoué. Réessayez ; si cela persiste, prévenez l'assistance.")
