"""Optional strict validation of an X12 file against the implementation guides with pyx12.

A feed with ``strict_validation`` runs the engine in strict mode (a composite written with an
undeclared separator is refused, not recovered) and, when pyx12 is installed
(``pip install -e .[x12-strict]``), pyx12's validator over the stored file first: the file is
quarantined with pyx12's first error (segment, line, element) if pyx12 does not accept it. pyx12
reads about two orders of magnitude slower than the engine (docs/benchmarks.md), which is why it
is a per-feed choice.
"""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .context import FileRefused


def pyx12_available() -> bool:
    try:
        import pyx12.x12n_document  # noqa: F401
    except ImportError:
        return False
    return True


def _errors(node: dict[str, Any], where: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for err in node.get("errors") or []:
        yield err.get("err_cde", ""), err.get("err_str", ""), where
    for key in ("interchanges", "groups", "transactions", "segments", "elements"):
        for child in node.get(key) or []:
            yield from _errors(child, {**where, **{k: child[k] for k in ("seg_id", "cur_line", "pos", "ele_pos")
                                                     if child.get(k) is not None}})


def pyx12_refusal(path: Path) -> FileRefused | None:
    """pyx12's verdict on the file: None when it accepts it, else the refusal with its first error."""
    import pyx12.params
    import pyx12.x12n_document

    report = io.StringIO()
    logging.getLogger("pyx12").disabled = True
    try:
        with path.open(encoding="latin-1") as source:
            valid = pyx12.x12n_document.x12n_document(pyx12.params.params(), source, None, None, fd_json=report)
    finally:
        logging.getLogger("pyx12").disabled = False
    if valid:
        return None
    try:
        tree = json.loads(report.getvalue() or "{}")
    except json.JSONDecodeError:
        tree = {}
    first = next(_errors(tree, {}), None)
    if first is None:
        return FileRefused("pyx12", "pyx12 does not accept the file against its implementation guide")
    code, text, where = first
    label = where.get("seg_id", "")
    if "ele_pos" in where:
        label += f"{int(where['ele_pos']):02d}"
    reason = f"pyx12 (implementation guide check){' at ' + label if label else ''}: {text} (error code {code})"
    return FileRefused("pyx12", reason, line=where.get("cur_line"))
