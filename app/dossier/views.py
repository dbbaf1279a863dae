"""Le dossier à déposer : aperçu, PDF, tableurs, archive, versions déposées."""

from __future__ import annotations

from flask import Blueprint

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("dossier", __name__, cli_group=None)
