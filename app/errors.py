"""Domain errors raised by services, and the HTTP handlers that turn them into pages."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain was broken; the message is French and shown to the user."""

    status_code = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Invalid(DomainError):
    """The input does not satisfy a rule (bad amount, bad SIRET, bad document...)."""

    status_code = 422


class NotAllowed(DomainError):
    """The acting user may not do this."""

    status_code = 403


class NotFound(DomainError):
    """The thing does not exist, or the user may not know that it exists."""

    status_code = 404

    def __init__(self, message: str, *, denied: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        # Set when the thing exists but the user may not see it: the attempt is logged (audit),
        # while the answer stays the same as for a thing that does not exist.
        self.denied = denied


class Conflict(DomainError):
    """Someone else changed the data since the user read it."""

    status_code = 409
