"""Front doors: one module per API a client speaks to vandamme, each with its table."""
