"""Reading pattern files and mapping them to RDF (see :mod:`.api` for the public entry points)."""
