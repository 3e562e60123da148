"""The yearly budget agreement (年度总额预算协议; 001 四2(4) 「总额应当一年一议」「预算核定的规则应由医疗机构与医保经办
部门谈判制定」, 002 十六 「对中医医疗机构牵头组建的紧密型县域医共体在总额预算上适当倾斜」).

Pure rules, no I/O. An agreement of a consortium for a year is an append-only history of versions: the insurance
bureau (医保局) proposes a figure from the formula budget (the capitation settlement's gross budget) times the
adjustments (capacity 服务能力, volume 业务量, and the policy's TCM uplift for a TCM-led consortium), adjusts it in
negotiation and signs it; the consortium (医共体管理中心) views, comments and accepts. The bureau signs only a figure
the consortium accepted, and a signed agreement is final. The settlement of the year then uses the signed figure as
the gross budget (:func:`agreed_budget`) and says so (:attr:`SignedAgreement.source`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from yigongti.budget.capitation import Budget, prepayments
from yigongti.core.money import apply_rate_bp, format_yuan
from yigongti.core.policy import AgreementPolicy, CapitationPolicy
from yigongti.core.problems import Conflict, InvalidRequest

__all__ = [
    "ACTIONS_OF_ROLE",
    "FORMULA_SOURCE",
    "Action",
    "AgreementError",
    "AgreementVersion",
    "SignedAgreement",
    "Status",
    "agreed_budget",
    "allowed_actions",
    "next_version",
    "parse_factor",
    "proposal_amount",
    "signed_of",
    "uplift_for",
]

FORMULA_SOURCE = "formula / 测算公式"
"""The budget source of a consortium without a signed agreement for the year."""


class Action(StrEnum):
    PROPOSE = "propose"  # 提出
    ADJUST = "adjust"  # 调整
    COMMENT = "comment"  # 意见
    ACCEPT = "accept"  # 接受
    SIGN = "sign"  # 签订


class Status(StrEnum):
    PROPOSED = "proposed"  # 已提出
    ADJUSTED = "adjusted"  # 已调整
    ACCEPTED = "accepted"  # 医共体已接受
    SIGNED = "signed"  # 已签订


ACTIONS_OF_ROLE: dict[str, frozenset[Action]] = {
    "insurance_bureau": frozenset({Action.PROPOSE, Action.ADJUST, Action.SIGN}),
    "consortium_admin": frozenset({Action.COMMENT, Action.ACCEPT}),
}
"""Who may do what (by role value): the bureau proposes, adjusts and signs; the consortium comments and accepts."""

_AFTER: dict[Action, Status | None] = {
    Action.PROPOSE: Status.PROPOSED, Action.ADJUST: Status.ADJUSTED, Action.COMMENT: None,
    Action.ACCEPT: Status.ACCEPTED, Action.SIGN: Status.SIGNED,
}
_FEN = Decimal(1)
_MAX_FACTOR = Decimal(10)


class AgreementError(Conflict, ValueError):
    """An action the agreement's state does not allow (a conflict: 409). A bad figure is an
    :class:`~yigongti.core.problems.InvalidRequest` naming its field (422)."""


@dataclass(frozen=True)
class AgreementVersion:
    """One version of an agreement: what was done (``action``) by whom and when, the state after it, and the figures
    (fen; the factors as exact decimals). ``amount`` is the negotiated figure (the gross budget) of this version."""

    consortium_id: str
    year: int
    version: int
    action: Action
    status: Status
    formula_amount: int
    capacity: Decimal
    volume: Decimal
    tcm_uplift: Decimal
    amount: int
    actor: str
    role: str
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class SignedAgreement:
    """The signed figure of a consortium-year (from the database or a data folder's ``budget_agreements``)."""

    consortium_id: str
    year: int
    amount: int
    version: int
    signed_by: str
    signed_at: datetime

    @property
    def source(self) -> str:
        """What the settlement says its budget came from."""
        at = self.signed_at.strftime("%Y-%m-%d %H:%M")
        return (f"signed agreement v{self.version} by {self.signed_by} at {at} / "
                f"已签协议第{self.version}版（{self.signed_by}，{at}）")


def parse_factor(text: str | Decimal | int, *, name: str) -> Decimal:
    """An adjustment factor: a decimal > 0 and <= 10 ("1.05"); InvalidRequest naming ``name`` otherwise."""
    try:
        d = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidRequest(name, f"not a decimal number: {str(text)[:40]!r} / 不是小数") from None
    if not d.is_finite() or not Decimal(0) < d <= _MAX_FACTOR:
        raise InvalidRequest(name, f"must be > 0 and <= {_MAX_FACTOR}, got {d} / 系数超出范围")
    return d


def proposal_amount(formula: int, *, capacity: Decimal, volume: Decimal, tcm_uplift: Decimal) -> int:
    """The proposed figure: the formula budget x capacity x volume x TCM uplift, half-up to the fen (exact)."""
    return int((Decimal(formula) * capacity * volume * tcm_uplift).quantize(_FEN, rounding=ROUND_HALF_UP))


def uplift_for(policy: AgreementPolicy, lead_kind: str | None) -> Decimal:
    """The policy's TCM uplift for a consortium whose lead institution is of ``lead_kind``; 1 otherwise."""
    return policy.tcm_uplift if lead_kind in policy.tcm_kinds else Decimal(1)


def next_version(history: Sequence[AgreementVersion], action: Action, *, consortium_id: str, year: int, role: str,
                 actor: str, at: datetime, note: str = "", formula: int | None = None,
                 capacity: Decimal | None = None, volume: Decimal | None = None, uplift: Decimal | None = None,
                 amount: int | None = None) -> AgreementVersion:
    """The version ``action`` appends to ``history`` (oldest first). Raises AgreementError when the role may not
    do it, or the agreement's state does not allow it: a proposal starts an agreement (once); adjusting, commenting
    and accepting need one that is not signed; signing needs the current figure accepted; a signed one is final;
    InvalidRequest for a bad figure or note. Adjusting without an ``amount`` recomputes the proposal from the
    factors given (the others kept)."""
    if action not in ACTIONS_OF_ROLE.get(role, frozenset()):
        raise AgreementError(f"role {role} may not {action.value} a budget agreement / 当前角色不能执行此操作")
    last = history[-1] if history else None
    if action is Action.PROPOSE:
        if last is not None:
            raise AgreementError("this agreement was proposed already: adjust it / 协议已提出，请调整")
        if formula is None or formula < 0:
            raise InvalidRequest("amount", "a proposal needs the formula budget / 缺少测算预算")
        cap, vol, up = capacity or Decimal(1), volume or Decimal(1), uplift or Decimal(1)
        figure = proposal_amount(formula, capacity=cap, volume=vol, tcm_uplift=up) if amount is None else amount
        return _checked(AgreementVersion(consortium_id, year, 1, action, Status.PROPOSED, formula, cap, vol, up,
                                         figure, actor, role, at, note))
    if last is None:
        raise AgreementError("no agreement proposed for this consortium and year / 尚无协议")
    if last.status is Status.SIGNED:
        raise AgreementError(f"agreement signed (v{last.version}): it is final / 协议已签订，不可更改")
    if action is Action.SIGN and last.status is not Status.ACCEPTED:
        raise AgreementError("the consortium has not accepted the current figure / 医共体尚未接受当前金额")
    if action is Action.ACCEPT and last.status is Status.ACCEPTED:
        raise AgreementError("the current figure is accepted already / 已接受")
    cap, vol = capacity or last.capacity, volume or last.volume
    figure = last.amount
    if action is Action.ADJUST:
        figure = amount if amount is not None else proposal_amount(
            last.formula_amount, capacity=cap, volume=vol, tcm_uplift=last.tcm_uplift)
    else:
        cap, vol = last.capacity, last.volume
    status = _AFTER[action] or last.status
    return _checked(AgreementVersion(consortium_id, year, last.version + 1, action, status, last.formula_amount, cap,
                                     vol, last.tcm_uplift, figure, actor, role, at, note))


def allowed_actions(history: Sequence[AgreementVersion], role: str) -> list[Action]:
    """What ``role`` may do next to the agreement with ``history`` (what a page offers): exactly the actions
    :func:`next_version` accepts now, in the order of :class:`Action`."""
    out = []
    for action in Action:
        try:
            next_version(history, action, consortium_id="", year=0, role=role, actor="", at=datetime.min,
                         formula=0)
        except (AgreementError, InvalidRequest):
            continue
        out.append(action)
    return out


def _checked(v: AgreementVersion) -> AgreementVersion:
    if v.amount < 0:
        raise InvalidRequest("amount", f"the figure must not be negative: {format_yuan(v.amount)} / 金额不能为负")
    if len(v.note) > 2000:
        raise InvalidRequest("note", "the note is longer than 2000 characters / 意见过长")
    return v


def signed_of(history: Sequence[AgreementVersion]) -> SignedAgreement | None:
    """The signed figure of a history, if its last version is a signature."""
    last = history[-1] if history else None
    if last is None or last.status is not Status.SIGNED:
        return None
    return SignedAgreement(last.consortium_id, last.year, last.amount, last.version, last.actor, last.at)


def agreed_budget(policy: CapitationPolicy, formula: Budget, amount: int) -> Budget:
    """The budget of a consortium whose gross budget is the signed ``amount``: the standard heads and rate of the
    formula kept for reference, the P4P reserve and the prospective budget and its prepayments from ``amount``."""
    reserve = apply_rate_bp(amount, policy.p4p_reserve)
    prospective = amount - reserve
    return Budget(formula.standard_heads, formula.rate, amount, reserve, prospective,
                  prepayments(prospective, policy.instalments))

