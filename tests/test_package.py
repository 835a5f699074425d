"""The package surface: the public API, and what starting the CLI costs."""

from __future__ import annotations

import subprocess
import sys

import patternkg


def test_public_api_is_listed_and_importable():
    assert patternkg.__all__ == ["__version__", "build", "convert", "export", "validate"]
    from patternkg import build, convert, export, validate

    for function in (build, convert, export, validate):
        assert callable(function) and function.__doc__
    assert set(patternkg.__all__) <= set(dir(patternkg))


def test_unknown_attribute_is_an_attribute_error():
    try:
        patternkg.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_cli_starts_without_rdflib_or_pyshacl():
    """rdflib (~90 ms) and pySHACL load only for validation, not for every command."""
    code = ("import sys, patternkg.cli; "
            "print(sorted(m for m in ('rdflib', 'pyshacl', 'flask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_converter_does_not_import_validation():
    """converter/ only reads and maps: validation lives in patternkg.shapes and the
    public ``validate`` is still ``patternkg.validate``."""
    code = ("import sys, patternkg.converter.api, patternkg.converter.pipeline; "
            "print(sorted(m for m in sys.modules if m.startswith('patternkg.shapes.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from patternkg import validate
    from patternkg.shapes.validation import validate as engine_validate

    assert validate is engine_validate
