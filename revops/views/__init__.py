"""Server-rendered pages (htmx) of the shared layer: sign-in, home, settings, jobs, audit."""
