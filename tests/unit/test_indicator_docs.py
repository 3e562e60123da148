"""docs/en/indicators.md and docs/zh/indicators.md (指标说明) say what the packaged indicator set says: their generated
part is exactly what scripts/indicator_docs.py renders from the TOML, so the pages cannot drift from it."""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from yigongti.appraisal.indicator_sets import load_indicator_set

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("indicator_docs", ROOT / "scripts" / "indicator_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


DOCS = _script()


def _generated(lang: str) -> str:
    page = DOCS.page_path(lang).read_text(encoding="utf-8")
    return str(page[page.index(DOCS.BEGIN):page.index(DOCS.END) + len(DOCS.END)])


@pytest.mark.parametrize("lang", DOCS.LANGS)
def test_the_page_matches_the_indicator_set(lang: str) -> None:
    assert _generated(lang) == DOCS.render(lang), "run: python scripts/indicator_docs.py"


@pytest.mark.parametrize("lang", DOCS.LANGS)
def test_every_indicator_has_a_row_with_its_target_and_weights(lang: str) -> None:
    block = _generated(lang)
    for ind in load_indicator_set().indicators:
        row = next((r for r in block.splitlines() if r.startswith(f"| {ind.id} |")), None)
        assert row is not None, f"indicator {ind.id} has no row"
        cells = [c.strip() for c in row.strip("|").split("|")]
        name = ind.name_en if lang == "en" else ind.name_zh
        assert cells[2] == name.replace("|", "\\|")
        if ind.target is not None:
            assert Decimal(cells[7]) == ind.target
        if ind.weight:
            assert Decimal(cells[8]) == ind.weight
        if ind.institution_weight:
            assert Decimal(cells[9]) == ind.institution_weight


def test_a_changed_target_is_caught() -> None:
    changed = load_indicator_set()
    first = changed.indicators[3]
    moved = first.model_copy(update={"target": (first.target or Decimal(0)) + 1})
    changed = changed.model_copy(update={"indicators": (*changed.indicators[:3], moved, *changed.indicators[4:])})
    assert DOCS.render("en", changed) != _generated("en")


def test_check_mode_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert DOCS.main(["--check"]) == 0
