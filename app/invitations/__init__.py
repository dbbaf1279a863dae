"""Invitations by e-mail to join a consortium, and accepting them."""
