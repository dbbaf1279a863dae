"""La coordination : tableau de suivi, échéances, relances."""

from __future__ import annotations

from flask import Blueprint

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("coordination", __name__, cli_group=None)
