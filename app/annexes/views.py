"""Les annexes des partenaires : dépôt, historique, téléchargement, pièces exigées."""

from __future__ import annotations

from flask import Blueprint

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("annexes", __name__, cli_group=None)
