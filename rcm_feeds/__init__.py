"""The rcm_feeds pillar (see docs/architecture.md); built by its own issue."""
