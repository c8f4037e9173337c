"""Commission pages."""
