"""The data contract pages (docs/en/data-contract.md, docs/zh/data-contract.md) list every table and column of the
schema (数据接口), with the same "required" flag and the allowed values of every code column, so they cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yigongti.datafolder.schema import TABLES, ColType

ROOT = Path(__file__).resolve().parents[2]
YES = {"en": "yes", "zh": "是"}


def _sections(text: str) -> dict[str, list[list[str]]]:
    """Table rows (cells) under each ``### `name` `` / ``#### `name` `` heading."""
    out: dict[str, list[list[str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        head = re.match(r"#{3,4} `(\w+)`", line)
        if head:
            current = head.group(1)
            out.setdefault(current, [])
        elif line.startswith("#"):
            current = None
        elif current and line.startswith("| `"):
            out[current].append([c.strip() for c in line.strip().strip("|").split("|")])
    return out


def _columns(rows: list[list[str]]) -> dict[str, list[str]]:
    cols: dict[str, list[str]] = {}
    for cells in rows:
        for name in re.findall(r"`(\w+)`", cells[0]):
            cols[name] = cells
    return cols


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_schema_table_and_column_is_documented(lang: str) -> None:
    sections = _sections((ROOT / "docs" / lang / "data-contract.md").read_text(encoding="utf-8"))
    problems: list[str] = []
    for name, spec in TABLES.items():
        if name not in sections:
            problems.append(f"table {name}: no section")
            continue
        documented = _columns(sections[name])
        if name == "adjudicated":  # documented as every claims column, then its own
            documented = {**_columns(sections["claims"]), **documented}
        for col in spec.columns:
            cells = documented.get(col.name)
            if cells is None:
                problems.append(f"{name}.{col.name}: not documented")
                continue
            required = cells[2].startswith(YES[lang])
            if required != col.required:
                problems.append(f"{name}.{col.name}: required is {col.required}, the page says {cells[2]!r}")
            if col.type is ColType.ENUM:
                listed = set(re.findall(r"`([^`]+)`", cells[3]))
                if listed != set(col.values):
                    problems.append(f"{name}.{col.name}: values {sorted(col.values)}, the page lists {sorted(listed)}")
        extra = set(documented) - {c.name for c in spec.columns}
        if extra:
            problems.append(f"{name}: documented columns not in the schema: {sorted(extra)}")
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_missing_column() -> None:
    text = (ROOT / "docs" / "en" / "data-contract.md").read_text(encoding="utf-8")
    sections = _sections(text.replace("| `covered_cost` |", "| covered_cost |"))
    assert "covered_cost" not in _columns(sections["claims"])
    assert "total_cost" in _columns(sections["claims"])
