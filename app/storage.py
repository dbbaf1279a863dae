"""Files kept in the database (`stored_files`): uploads and rendered exports, shared by every server."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from datetime import datetime

from flask import Response
from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime, utcnow
from app.extensions import db


class StoredFile(Base):
    """The bytes of one file with their SHA-256; never changed once written (a new version is a new row)."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    # Loaded only when asked for: lists of annexes or exports never pull the bytes.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def store_bytes(data: bytes, content_type: str) -> StoredFile:
    """Add a file to the session (flushed, so it has its id)."""
    stored = StoredFile(
        sha256=hashlib.sha256(data).hexdigest(), content_type=content_type, size=len(data), data=data
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def inflates_abnormally(entries: Sequence[zipfile.ZipInfo], *, max_bytes: int, max_ratio: int) -> bool:
    """Whether a zip (an uploaded .xlsx or .docx) would unpack beyond `max_bytes` or `max_ratio` times its
    compressed size: a zip bomb, refused from its directory before anything is unpacked."""
    uncompressed = sum(entry.file_size for entry in entries)
    compressed = sum(entry.compress_size for entry in entries)
    return uncompressed > max_bytes or uncompressed > max_ratio * max(compressed, 1)


def download_response(data: str | bytes, filename: str, mimetype: str) -> Response:
    """A file to save, never shown in the page (nosniff comes with every response)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
