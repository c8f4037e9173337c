"""REST API of the shared data (DRF); every endpoint is tenant-scoped and names its resource."""
