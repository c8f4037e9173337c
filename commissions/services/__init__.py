"""Commission services: plans (builder, compliance), transactions, crediting, runs, statements, disputes."""
