"""Deterministic demo and benchmark data: two organizations unlike each other, on real US geography."""
