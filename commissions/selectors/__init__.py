"""Commission reads for pages, API and exports."""
