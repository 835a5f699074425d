"""Make a larger corpus from a real one: renamed copies with consistent slugs and ids.

``make_corpus(src, dst, factor)`` writes *factor* copies of every ``*.md`` of *src*
into *dst*. Copy 0 keeps the original names; copy k renames every slug and
``pat_`` id that belongs to the library (in file names and front matter) with a
``-k<k>`` / ``k<k>`` suffix, so relationships stay inside their copy and
dangling targets stay dangling. Bodies are copied unchanged.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_-]*")
_SLUG = re.compile(r"^slug:\s*\"?([^\"\n]+)\"?\s*$", re.M)
_ID = re.compile(r"^id:\s*\"?(pat_[a-z0-9]+)\"?\s*$", re.M)


def make_corpus(src: Path, dst: Path, factor: int) -> list[Path]:
    files = sorted(Path(src).glob("*.md"))
    names: set[str] = set()
    texts = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        head = text[:4096]
        names.update(m.group(1) for m in _SLUG.finditer(head))
        names.update(m.group(1) for m in _ID.finditer(head))
        texts.append((path, text))
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for k in range(factor):
        for path, text in texts:
            if k == 0:
                out, name = text, path.name
            else:
                end = text.find("\n---", 3)
                end = len(text) if end < 0 else end
                suffix = f"k{k}"

                def rename(m: re.Match, suffix=suffix) -> str:
                    token = m.group(0)
                    if token not in names:
                        return token
                    return token + suffix if token.startswith("pat_") else f"{token}-{suffix}"

                out = _TOKEN.sub(rename, text[:end]) + text[end:]
                name = f"{path.stem}-{suffix}.md"
            target = dst / name
            target.write_text(out, encoding="utf-8")
            written.append(target)
    return written


if __name__ == "__main__":
    make_corpus(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 10)
