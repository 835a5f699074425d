from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def write_pattern(tmp_path):
    """Write a pattern file (text or bytes) into a fresh library folder and return its path."""

    def write(name: str, content: str | bytes, folder: Path | None = None) -> Path:
        target = (folder or tmp_path / "lib") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    return write
