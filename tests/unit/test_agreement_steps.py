"""What each role may do next to a yearly budget agreement (what the agreement page offers), step by step."""

from __future__ import annotations

from datetime import datetime

from yigongti.budget.agreement import Action, AgreementVersion, allowed_actions, next_version

AT = datetime(2025, 12, 1, 9, 0)
BUREAU, CONSORTIUM, COMMISSION = "insurance_bureau", "consortium_admin", "health_commission"


def _step(history: list[AgreementVersion], action: Action, role: str) -> list[AgreementVersion]:
    return [*history, next_version(history, action, consortium_id="G1", year=2026, role=role, actor="x", at=AT,
                                   formula=100_000)]


def test_each_role_is_offered_exactly_its_next_steps() -> None:
    h: list[AgreementVersion] = []
    assert allowed_actions(h, BUREAU) == [Action.PROPOSE] and allowed_actions(h, CONSORTIUM) == []
    h = _step(h, Action.PROPOSE, BUREAU)
    assert allowed_actions(h, BUREAU) == [Action.ADJUST]
    assert allowed_actions(h, CONSORTIUM) == [Action.COMMENT, Action.ACCEPT]
    h = _step(h, Action.ACCEPT, CONSORTIUM)
    assert allowed_actions(h, BUREAU) == [Action.ADJUST, Action.SIGN]
    assert allowed_actions(h, CONSORTIUM) == [Action.COMMENT]  # accepted already
    h = _step(h, Action.ADJUST, BUREAU)  # a new figure: the consortium must accept again before a signature
    assert allowed_actions(h, BUREAU) == [Action.ADJUST]
    assert allowed_actions(h, CONSORTIUM) == [Action.COMMENT, Action.ACCEPT]
    h = _step(_step(h, Action.ACCEPT, CONSORTIUM), Action.SIGN, BUREAU)
    assert allowed_actions(h, BUREAU) == allowed_actions(h, CONSORTIUM) == []  # signed: final
    assert all(allowed_actions(x, COMMISSION) == [] for x in (h[:0], h[:1], h))  # the commission only looks
