"""The patternkg OWL vocabulary and JSON-LD context (data files, loaded via importlib.resources)."""
