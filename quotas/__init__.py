"""The quotas pillar (see docs/architecture.md); built by its own issue."""
