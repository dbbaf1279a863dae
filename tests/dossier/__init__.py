"""Tests of the dossier: its plain values, its HTML and PDF, the fetcher and the render bounds."""
