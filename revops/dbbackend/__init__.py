"""Postgres backend that carries the active tenant into every transaction (see base.py)."""
