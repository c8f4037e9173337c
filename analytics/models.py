"""Performance analytics and the executive command center."""
