"""Make a larger library from a real one: renamed copies that link only inside their copy.

``make_corpus(src=..., dst=..., copies=N)`` writes *N* copies of every ``*.md`` of *src*
into *dst*. Copy 0 keeps the original text; copy k renames only the identity and link
fields of the front matter -- the pattern's ``slug`` and ``id``, the targets of curated
relationships (the legacy top-level lists and the ``relationships`` block, as scalars,
``slug:``/``id:`` items or flow lists) and the targets of ``graph_garden.inferred_links`` --
with a ``-k<k>`` suffix (``k<k>`` for ``pat_`` ids). Everything else (domains, community
and entity ids, labels, bodies) is copied unchanged, so the copies share their vocabulary
like the patterns of one real library do, relationships stay inside their copy and a
dangling target stays dangling (each copy has its own).

    python tests/benchmarks/corpus10x.py SRC DST --copies 105   # 952 x 105 = 99,960 files
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

__all__ = ["make_corpus", "rename_links"]

#: top-level keys whose list items are relationship targets (legacy dialect)
_LEGACY_LISTS = {"generalizes_from", "specializes_to", "enables", "requires", "related",
                 "alternatives", "complementary", "tools"}
_KEY = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")
_ITEM = re.compile(r"^(?P<lead>\s*-\s+)(?P<q>[\"']?)(?P<value>[^\s\"'#:{}\[\],]+)(?P=q)(?P<tail>\s*(#.*)?)$")
_VALUE = re.compile(r"^(?P<lead>\s*)(?P<q>[\"']?)(?P<value>[^\s\"'#{}\[\],]+)(?P=q)(?P<tail>\s*(#.*)?)$")
_FLOW = re.compile(
    r"(?P<key>\b[A-Za-z_]\w*):(?P<sp>\s*)(?P<q>[\"']?)(?P<value>[A-Za-z0-9][\w.~-]*)(?P=q)(?=\s*[,}\]])"
    r"|(?P<lead>[\[,]\s*)(?P<bq>[\"']?)(?P<bare>[A-Za-z0-9][\w.~-]*)(?P=bq)(?=\s*[,\]])"
    r"|\"(?:[^\"\\]|\\.)*\"|'[^']*'")


def _renamed(value: str, k: int) -> str:
    return f"{value}k{k}" if value.startswith("pat_") else f"{value}-k{k}"


def _rename_flow(rest: str, k: int, keys: tuple[str, ...]) -> str:
    """Rename the targets inside a flow list ``[a, {id: b, weight: 0.9, description: "..."}]``:
    bare items and the values of *keys*; other quoted text is left alone."""
    def sub(m: re.Match) -> str:
        if m.group("key") and m.group("key") in keys:
            return f"{m.group('key')}:{m.group('sp')}{m.group('q')}{_renamed(m.group('value'), k)}{m.group('q')}"
        if m.group("bare"):
            return f"{m.group('lead')}{m.group('bq')}{_renamed(m.group('bare'), k)}{m.group('bq')}"
        return m.group(0)

    return _FLOW.sub(sub, rest)


def rename_links(front: str, k: int) -> str:
    """The front matter *front* (YAML text) with identity and link fields renamed for copy *k*."""
    lines = front.split("\n")
    top = ""  # the current top-level key
    sub = ""  # the current key one level below graph_garden
    sub_indent = None
    for n, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        m = _KEY.match(line)
        if indent == 0 and not stripped.startswith("-"):
            top = m.group("key") if m else top
            sub, sub_indent = "", None
            if m and top in ("slug", "id"):
                lines[n] = f"{top}:" + _rename_value(m.group("rest"), k)
            elif m and top in _LEGACY_LISTS:
                lines[n] = f"{top}:" + _rename_flow(m.group("rest"), k, ("slug", "id"))
            continue
        if top == "graph_garden":
            if m and not m.group("dash") and (sub_indent is None or indent <= sub_indent):
                sub, sub_indent = m.group("key"), indent
                if sub == "inferred_links":
                    lines[n] = line[:m.start("rest")] + _rename_flow(m.group("rest"), k, ("target",))
                continue
            if sub == "inferred_links":
                lines[n] = _rename_line(line, k, ("target",))
        elif top == "relationships" or top in _LEGACY_LISTS:
            if m and not m.group("dash") and top == "relationships" and m.group("key") not in ("slug", "id"):
                # a kind: its value may be a flow list
                lines[n] = line[:m.start("rest")] + _rename_flow(m.group("rest"), k, ("slug", "id"))
                continue
            lines[n] = _rename_line(line, k, ("slug", "id"))
    return "\n".join(lines)


def _rename_value(rest: str, k: int) -> str:
    m = _VALUE.match(rest)
    if not m:
        return rest
    return f"{m.group('lead')}{m.group('q')}{_renamed(m.group('value'), k)}{m.group('q')}{m.group('tail')}"


def _rename_line(line: str, k: int, keys: tuple[str, ...]) -> str:
    """One block line of a target list: ``- target``, ``- slug: target`` or ``  id: target``."""
    m = _KEY.match(line)
    if m:
        if m.group("key") in keys:
            return line[:m.start("rest")] + _rename_value(m.group("rest"), k)
        return line
    m = _ITEM.match(line)
    if m:
        return f"{m.group('lead')}{m.group('q')}{_renamed(m.group('value'), k)}{m.group('q')}{m.group('tail')}"
    return line


def make_corpus(*, src: Path, dst: Path, copies: int) -> list[Path]:
    """Write *copies* copies of the ``*.md`` files of *src* into *dst* (created); returns the
    files written. Copy 0 is the original; copy k's files are named ``<stem>-k<k>.md``."""
    files = sorted(Path(src).glob("*.md"))
    texts = [(path, path.read_text(encoding="utf-8")) for path in files]
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for k in range(copies):
        for path, text in texts:
            if k == 0:
                out, name = text, path.name
            else:
                end = text.find("\n---", 3) if text.startswith("---") else -1
                out = text if end < 0 else rename_links(text[:end], k) + text[end:]
                name = f"{path.stem}-k{k}.md"
            target = dst / name
            target.write_text(out, encoding="utf-8")
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="folder of pattern files (*.md)")
    parser.add_argument("dst", type=Path, help="folder to write the copies into (created)")
    parser.add_argument("--copies", type=int, default=10, help="number of copies, the original included")
    args = parser.parse_args(argv)
    written = make_corpus(src=args.src, dst=args.dst, copies=args.copies)
    print(f"{len(written)} files in {args.dst}")


if __name__ == "__main__":
    main()
