"""SARIF 2.1.0: what GitHub code scanning and other CI tools ingest (no annotation cap).

Contract of :func:`render_sarif`: one run whose ``tool.driver.rules`` lists every rule
(shape) with its one-line explanation (``shortDescription``), its fix hint (``help``)
and its level; one result per listed entry with ``ruleId``/``ruleIndex``, ``level``
(violation ``error``, warning ``warning``, info ``note``), the message (with the field
and fix), a physical location (file relative to ``%SRCROOT%``, the report root, and
the start line), ``partialFingerprints`` (the baseline fingerprint, stable across line
shifts), ``baselineState`` (``new``/``unchanged``) when the run compared against a
baseline or a ref, and ``properties`` (field, value, focus node, status, fix).

Fix hints are text, not edits: SARIF's ``fixes`` are machine-applicable replacements
(``artifactChanges`` are required), which a hint such as "write the date as
YYYY-MM-DD" is not, so hints go into ``help``, the message and ``properties.fix``.
The document validates against the SARIF 2.1.0 JSON schema
(``tests/shapes/test_report_formats.py``). Written as plain JSON: the Python object
model ``sarif-om`` has not been released since 2019 and adds nothing a schema test
does not check.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from patternkg.shapes.baseline import fingerprint
from patternkg.shapes.reports import rule_rows

if TYPE_CHECKING:
    from patternkg.shapes.outcome import Entry, Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"violation": "error", "warning": "warning", "info": "note"}
INFORMATION_URI = "https://w3id.org/patternkg"


def _uri(file: str) -> tuple[str, bool]:
    """(uri, relative?) of a shown path."""
    if file.startswith("/"):
        return "file://" + quote(file), False
    return quote(file), True


def _result(e: Entry, index: int, compared: bool) -> dict:
    r = e.result
    text = r.message + (f" [{r.field}]" if r.field else "") + (f" Fix: {r.fix}" if r.fix else "")
    uri, relative = _uri(e.file)
    location = {"artifactLocation": {"uri": uri, **({"uriBaseId": "SRCROOT"} if relative else {})},
                "region": {"startLine": max(1, r.line)}}
    out = {
        "ruleId": r.shape,
        "ruleIndex": index,
        "level": LEVEL[r.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {
            "patternkg/v1": hashlib.sha256("\x1f".join(fingerprint(r, e.file)).encode()).hexdigest()},
        "properties": {"severity": r.severity, "field": r.field, "value": r.value, "focus": r.focus,
                       "status": e.status, "fix": r.fix, **({"also": r.also} if r.also else {})},
    }
    if compared:
        out["baselineState"] = "new" if e.status == "new" else "unchanged"
    return out


def sarif_document(report: Report, *, severity: str = "info") -> dict:
    from patternkg import __version__

    rows = rule_rows(report)
    index = {name: i for i, (_s, name, *_rest) in enumerate(rows)}
    rules = []
    for sev, name, _n, _new, _files, explanation in rows:
        fix = report.rule(name).fix
        rules.append({"id": name, "name": name.replace("/", "_").replace("#", "_").replace(":", "_"),
                      "shortDescription": {"text": explanation or name},
                      "help": {"text": f"Fix: {fix}" if fix else explanation or name},
                      "defaultConfiguration": {"level": LEVEL[sev]},
                      "properties": {"severity": sev}})
    compared = report.since is not None or report.baseline is not None
    run = {
        "tool": {"driver": {"name": "patternkg", "semanticVersion": __version__, "version": __version__,
                            "informationUri": INFORMATION_URI, "rules": rules}},
        "originalUriBaseIds": {"SRCROOT": {"uri": report.root.as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(e, index[e.result.shape], compared) for e in report.shown(severity)],
        "properties": {"summary": report.summary(), "fixed": len(report.fixed)},
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: Report, *, severity: str = "info") -> str:
    return json.dumps(sarif_document(report, severity=severity), indent=1, ensure_ascii=False)


__all__ = ["render_sarif", "sarif_document"]
