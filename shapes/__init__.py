"""Validation: the SHACL shapes of patternkg and the validator that runs them.

- ``patternkg-shapes.ttl``: the shapes (data, readable by any SHACL engine);
- :mod:`.shapes_graph`: where the shapes file is and what the engine needs to know about it;
- :mod:`.shacl_sparql`: SHACL Core compiled to SPARQL for Oxigraph (the default engine);
- :mod:`.validation`: :func:`~.validation.validate` (``from patternkg import validate``);
- :mod:`.reports`: the output formats; :mod:`.cli`: ``patternkg validate``.

The converter (``patternkg.converter``) only reads and maps; nothing here is imported
by it.
"""
