"""Use cases of the yearly budget agreement (年度总额预算协议): view, propose, adjust, comment, accept, sign.

Each runs in the caller's transaction (a web request's session, committed when the request ends). Who may do what
is the domain's (:data:`yigongti.budget.agreement.ACTIONS_OF_ROLE`); who may see which consortium is the platform's
scope (``consortia_in_scope``: a consortium admin its own consortium, the bureau and the health commission their
county's). A role that may not act gets :class:`NotAllowed` (403); a consortium outside the caller's scope, or one
that does not exist, :class:`NotVisible` (404: existence is not disclosed); a step the agreement's state does not
allow :class:`AgreementError` (409); a bad figure ``InvalidRequest`` naming the field (422). All are refusals of
``core.problems``: the API and the pages answer them with ``platform.deps.run_use_case``. Every action is written
to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yigongti.budget.agreement import (
    ACTIONS_OF_ROLE,
    Action,
    AgreementError,
    AgreementVersion,
    SignedAgreement,
    next_version,
    parse_factor,
    signed_of,
    uplift_for,
)
from yigongti.budget.agreement_store import AgreementRepository
from yigongti.core import problems
from yigongti.core.audit import AuditRepository
from yigongti.core.money import parse_yuan
from yigongti.core.policy import AgreementPolicy
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.platform.scope import consortia_in_scope
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = [
    "VIEW_ROLES",
    "NotAllowed",
    "NotVisible",
    "act",
    "act_on_text",
    "agreement_history",
    "agreements_of_year",
    "signed_agreements",
]

_T = TypeVar("_T")

VIEW_ROLES = frozenset({Role.INSURANCE_BUREAU, Role.CONSORTIUM_ADMIN, Role.HEALTH_COMMISSION})
"""Roles that see budget agreements (each within its scope)."""


class NotAllowed(problems.NotAllowed):
    """The caller's role may not do this (403)."""


class NotVisible(problems.NotFound):
    """No such consortium in the caller's scope (404)."""


def _check_visible(db: Session, principal: Principal, consortium_id: str) -> None:
    if principal.role not in VIEW_ROLES:
        raise NotAllowed(f"role {principal.role.value} does not see budget agreements / 当前角色无权查看预算协议")
    if consortium_id not in consortia_in_scope(db, principal):
        raise NotVisible(f"no such consortium in your scope: {consortium_id[:64]} / 无此医共体或无权查看")


def agreement_history(db: Session, principal: Principal, consortium_id: str, year: int) -> list[AgreementVersion]:
    """Every version of the consortium-year's agreement, oldest first (empty: none proposed yet)."""
    _check_visible(db, principal, consortium_id)
    return AgreementRepository(db).history(consortium_id, year)


def agreements_of_year(db: Session, principal: Principal, year: int) -> dict[str, list[AgreementVersion]]:
    """The histories of ``year`` of every consortium the caller sees (a consortium without one: an empty list)."""
    if principal.role not in VIEW_ROLES:
        raise NotAllowed(f"role {principal.role.value} does not see budget agreements / 当前角色无权查看预算协议")
    mine = sorted(consortia_in_scope(db, principal))
    every = AgreementRepository(db).of_year(year)
    return {c: every.get(c, []) for c in mine}


def act(db: Session, principal: Principal, consortium_id: str, year: int, action: Action, *, at: datetime,
        policy: AgreementPolicy, formula: int | None = None, capacity: Decimal | None = None,
        volume: Decimal | None = None, amount: int | None = None, note: str = "") -> AgreementVersion:
    """Append the version ``action`` makes. ``formula``: the consortium's formula budget of ``year`` (a proposal
    needs it). Raises NotAllowed, NotVisible, or AgreementError (the state does not allow it; a concurrent action
    on the same version)."""
    if action not in ACTIONS_OF_ROLE.get(principal.role.value, frozenset()):
        raise NotAllowed(f"role {principal.role.value} may not {action.value} a budget agreement / "
                         "当前角色不能执行此操作")
    _check_visible(db, principal, consortium_id)
    repo = AgreementRepository(db)
    history = repo.history(consortium_id, year)
    uplift = None
    if action is Action.PROPOSE:
        cons = db.get(ConsortiumRow, consortium_id)
        lead = db.get(InstitutionRow, cons.lead_inst_id) if cons is not None else None
        uplift = uplift_for(policy, lead.kind if lead is not None else None)
    version = next_version(history, action, consortium_id=consortium_id, year=year, role=principal.role.value,
                           actor=principal.username, at=at, note=note, formula=formula, capacity=capacity,
                           volume=volume, uplift=uplift, amount=amount)
    try:
        with db.begin_nested():
            repo.append(version)
    except IntegrityError:
        raise AgreementError("the agreement changed meanwhile: reload and try again / "
                             "协议已被他人更新，请刷新") from None
    AuditRepository(db).add(actor=actor_of(principal), action=f"budget agreement {action.value}", at=at,
                            detail={"consortium_id": consortium_id, "year": year, "version": version.version,
                                    "status": version.status.value, "amount_fen": version.amount})
    return version


def signed_agreements(db: Session, year: int) -> dict[str, SignedAgreement]:
    """The signed figures of ``year`` by consortium (what the settlement uses)."""
    out: dict[str, SignedAgreement] = {}
    for c, history in AgreementRepository(db).of_year(year).items():
        signed = signed_of(history)
        if signed is not None:
            out[c] = signed
    return out


def _figure(text: str | None, parse: Callable[[str], _T], field: str) -> _T | None:
    if not text:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise problems.InvalidRequest(field, f"{exc} / 输入有误") from None


def act_on_text(db: Session, principal: Principal, consortium_id: str, year: int, action: Action, *, at: datetime,
                policy: AgreementPolicy, formula: int | None, capacity: str | None = None,
                volume: str | None = None, amount: str | None = None, note: str = "") -> AgreementVersion:
    """:func:`act` with the figures as a person typed them (a form, a JSON body): the factors as decimal text, the
    amount as yuan text. ``formula``: the consortium's formula budget of ``year`` (fen), None when the platform has
    none for that year; a proposal then needs an ``amount`` (it is the proposal's figure and its formula)."""
    cap = _figure(capacity, lambda t: parse_factor(t, name="capacity"), "capacity")
    vol = _figure(volume, lambda t: parse_factor(t, name="volume"), "volume")
    fen = _figure(amount, parse_yuan, "amount")
    if action is Action.PROPOSE and formula is None:
        agreement_history(db, principal, consortium_id, year)  # refused by role and scope first
        if fen is None:
            raise problems.InvalidRequest("amount", f"no formula budget of {year} for {consortium_id[:64]}: give an "
                                                    "amount / 无该年度测算预算，请填写金额")
        formula, fen = fen, None
    return act(db, principal, consortium_id, year, action, at=at, policy=policy, formula=formula, capacity=cap,
               volume=vol, amount=fen, note=note)
