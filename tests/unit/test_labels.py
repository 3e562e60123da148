"""Every code a person sees has a Chinese and an English label in core/labels.py; numbers read the zh-CN way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.appraisal.indicators import Direction, ScopeKind, Unit
from yigongti.benefits.domain import NetworkStatus, Rule, Setting
from yigongti.benefits.plain import plain_rules
from yigongti.budget.agreement import Action, Status
from yigongti.budget.engine import Charge
from yigongti.care.domain import Control, Disease, KeyPopulation, Worklist
from yigongti.care.schedules import SlotState
from yigongti.core.labels import LABELS, UnknownLabelGroup, format_count, format_money, format_number, label, labelled
from yigongti.core.money import format_yuan
from yigongti.core.policy import BenefitPolicy, GradeName, Insurance
from yigongti.datafolder.schema import KINDS
from yigongti.enrollment.domain import Source
from yigongti.platform.accounts import Role
from yigongti.registry.domain import Tier
from yigongti.simulator.domain import Payment

SHOWN = {"tier": list(Tier), "kind": list(KINDS), "grade": list(GradeName), "rule": list(Rule),
         "network_status": list(NetworkStatus), "setting": list(Setting), "unit": list(Unit),
         "scope_kind": list(ScopeKind), "direction": list(Direction), "sex": ["M", "F"],
         "insurance": list(Insurance), "source": list(Source), "charge": list(Charge), "role": list(Role),
         "agreement_action": list(Action), "agreement_status": list(Status), "budget_source": ["signed", "formula"],
         "payment": list(Payment), "disease": list(Disease), "control": list(Control),
         "worklist": list(Worklist), "key_population": list(KeyPopulation), "slot_state": list(SlotState)}


@pytest.mark.parametrize("group", sorted(SHOWN))
def test_every_code_shown_has_both_labels(group: str) -> None:
    for code in SHOWN[group]:
        zh, en = label(group, code, "zh"), label(group, code, "en")
        assert zh and en, (group, code)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) or str(code) == "%", (group, code, zh)
        assert zh != str(code) or str(code) == "%", (group, code)


def test_unknown_codes_show_as_they_are_and_unknown_groups_are_an_error() -> None:
    assert label("grade", "gold") == "gold"  # a policy may name its own grades
    assert label("tier", Tier.TOWNSHIP) == "乡镇卫生院/社区卫生服务中心"
    assert label("kind", "community_station", "en") == "community health station"
    assert labelled("column", "inst_id") == "机构编码 inst_id"
    with pytest.raises(UnknownLabelGroup):
        label("colour", "red")
    assert set(SHOWN) <= set(LABELS)


@given(st.integers(-10**15, 10**15))
def test_money_with_separators_is_the_exact_yuan(fen: int) -> None:
    text = format_money(fen)
    assert text.replace(",", "") == format_yuan(fen)
    whole = text.lstrip("-").split(".")[0]
    assert all(len(g) == 3 for g in whole.split(",")[1:]) and 1 <= len(whole.split(",")[0]) <= 3


def test_counts_and_numbers() -> None:
    assert format_count(38956) == "38,956"
    assert format_count(None) == "—"
    assert format_number(Decimal("1234567.50")) == "1,234,567.5"
    assert format_number(Decimal("85.00")) == "85"
    assert format_number(Decimal("1E+6")) == "1,000,000"
    assert format_number(None) == "—"


def test_plain_rules_follow_the_policy() -> None:
    rules = {r.rule: r for r in plain_rules(BenefitPolicy())}
    assert "每次只付 20 元" in rules["flat_copay"].zh
    assert "costs you 20 yuan" in rules["flat_copay"].en
    assert "90%" in rules["inpatient"].zh
    assert "200,000 元" in rules["annual_cap"].zh
    cheaper = {r.rule: r for r in plain_rules(BenefitPolicy(flat_copay="10"))}  # type: ignore[arg-type]
    assert "每次只付 10 元" in cheaper["flat_copay"].zh
    employee = {r.rule: r for r in plain_rules(BenefitPolicy(), Insurance.EMPLOYEE)}
    assert "95%" in employee["inpatient"].zh and "400,000 元" in employee["annual_cap"].zh
