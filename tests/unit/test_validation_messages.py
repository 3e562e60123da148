"""Configuration files' errors in English and Chinese (校验信息): pydantic's own messages are English only."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yigongti.appraisal.indicators import IndicatorSetError, indicator_set_from_toml
from yigongti.core.problems import InvalidInput, validation_message
from yigongti.simulator.domain import load_scenarios
from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design

HAN = re.compile(r"[\u4e00-\u9fff]")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    share: float = Field(0.5, ge=0, le=1, allow_inf_nan=False)
    count: int = Field(1, gt=0, lt=100)
    flag: bool = False
    kind: str = Field("a", pattern="^[a-z]+$")


@given(st.dictionaries(st.sampled_from(["share", "count", "flag", "kind", "other"]),
                       st.one_of(st.integers(-5, 500), st.floats(), st.text(max_size=3), st.booleans(), st.none()),
                       min_size=1))
def test_every_error_of_a_file_reads_in_chinese_too(raw: dict[str, object]) -> None:
    try:
        _Model.model_validate(raw)
    except ValidationError as exc:
        for e in exc.errors():
            msg = validation_message(e)
            assert HAN.search(msg), (e["type"], msg)
            assert "_Model" not in msg


def test_bounds_and_choices_are_said_with_their_values() -> None:
    with pytest.raises(ValidationError) as info:
        _Model.model_validate({"share": 2.0, "count": 0})
    messages = {e["loc"][0]: validation_message(e) for e in info.value.errors()}
    assert messages["share"].endswith("/ 应不大于 1.0")
    assert messages["count"].endswith("/ 应大于 0")


def test_scenarios_file_errors_are_in_both_languages() -> None:
    with pytest.raises(InvalidInput) as info:
        load_scenarios('[scenarios.a]\npayment = "x"\n[scenarios.a.behaviour]\nrepatriation = "z"\n')
    by_key = {p.column: p.message for p in info.value.problems}
    assert by_key["scenarios.a.behaviour.repatriation"] == "Input should be a valid number / 应为数字"
    assert by_key["scenarios.a.payment"].endswith("/ 应为 'global_budget'、'fee_for_service' 之一")


def test_pilot_design_errors_are_in_both_languages(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = PILOT_4X3.read_text(encoding="utf-8")
    bad = tmp_path / "design.toml"
    bad.write_text(text.replace("cost_scale = 1.25", 'cost_scale = "dear"', 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        read_pilot_design(bad)
    assert any(HAN.search(p.message) and "cost_scale" in p.column for p in info.value.problems), info.value.problems


@pytest.mark.parametrize("weight", ['"heavy"', '"nan"', '"inf"', "true"])
def test_indicator_set_errors_are_in_both_languages(weight: str) -> None:
    """A weight that is not a number is named with its key (text was decimal's InvalidOperation, a traceback)."""
    with pytest.raises(IndicatorSetError) as info:
        indicator_set_from_toml(f'[[indicator]]\nid = "x"\nweight = {weight}\n')
    lines = str(info.value).split("\n")[1:]
    assert any("weight" in line and HAN.search(line) for line in lines), lines


def test_an_indicator_set_file_that_is_not_utf8_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """It raised UnicodeDecodeError, a traceback; it is read as the policy file is (``problems.read_text_file``)."""
    from yigongti.appraisal.indicator_sets import load_indicator_set

    bad = tmp_path / "indicator_set.toml"
    bad.write_bytes(b"\xff\xfe id = 1\n")
    with pytest.raises(IndicatorSetError, match="UTF-8"):
        load_indicator_set(bad)
