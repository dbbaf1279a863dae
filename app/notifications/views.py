"""Les préférences de notification de chacun et le résumé quotidien."""

from __future__ import annotations

from flask import Blueprint

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("notifications", __name__, cli_group=None)
