"""SHACL shapes for pattern libraries (data files, loaded via importlib.resources)."""
