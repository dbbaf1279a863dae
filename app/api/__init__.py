"""The JSON API: app/api/views.py holds the blueprint; each module below adds its routes to it."""

# Imported for its routes: importing the blueprint from app.api.views brings them along.
from app.api import sections as sections
