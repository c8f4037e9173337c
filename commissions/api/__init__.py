"""Commission REST API (/api/v1/commissions/)."""
