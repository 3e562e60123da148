"""The rules of the shared health record (共享健康档案), pure: who may open a person's record across the members of a
consortium, and on what basis (the "why" of every opening in the audit log).

A resident (参保人) opens the records of their own household. A clinician (医生) opens a person's record when they
have a care relationship with the person, in this order of preference:

- ``designation`` 定点: the person is designated (this year or next) to the clinician's institution (a county-tier
  clinician: to its consortium), the platform's own scope of a clinician;
- ``contract`` 签约: the person holds a family-doctor contract in force today with a team of the clinician's
  institution, or a team the clinician is a member of (a county specialist in a township team);
- ``referral`` 转诊: a referral of the person to or from the clinician's institution that is open, or ended less
  than ``policy.referral.record_days`` ago (the receiving clinician reads the record from the referral letter).

Anyone else, every other role included, is refused (403); the refusal is audited as well as every opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from yigongti.referral.domain import TERMINAL, Status

__all__ = ["BASIS_LABELS", "OPENINGS_ROLES", "Basis", "CareFacts", "care_basis", "referral_counts"]


class Basis(StrEnum):
    HOUSEHOLD = "household"
    DESIGNATION = "designation"
    CONTRACT = "contract"
    REFERRAL = "referral"


BASIS_LABELS: dict[str, str] = {Basis.HOUSEHOLD: "本户成员 / own household",
                                Basis.DESIGNATION: "定点签约机构 / designated here",
                                Basis.CONTRACT: "家庭医生签约 / family-doctor contract",
                                Basis.REFERRAL: "转诊 / referral"}

OPENINGS_ROLES = frozenset({"resident", "consortium_admin", "insurance_bureau", "health_commission"})
"""Who may list the openings of a record: the officials whose scope holds the person, and the person's household."""


@dataclass(frozen=True)
class CareFacts:
    """What the database says about the asker and the person: the same household (a resident), designated to the
    clinician's institution or consortium, a contract in force with the clinician's team, and the live referrals
    between the person and the clinician's institution (ids, newest first)."""

    same_household: bool = False
    designated: bool = False
    contract_id: int | None = None
    referral_ids: tuple[int, ...] = ()


def care_basis(role: str, facts: CareFacts, *, referral_id: int | None = None) -> tuple[Basis, int | None] | None:
    """The basis on which ``role`` may open the record (with the contract or referral it rests on), or None.
    ``referral_id``: the referral the clinician opens the record from; when it is one of the live referrals it is
    the basis named (the audit then says which letter it was read from)."""
    if role == "resident":
        return (Basis.HOUSEHOLD, None) if facts.same_household else None
    if role != "clinician":
        return None
    if referral_id is not None and referral_id in facts.referral_ids:
        return Basis.REFERRAL, referral_id
    if facts.designated:
        return Basis.DESIGNATION, None
    if facts.contract_id is not None:
        return Basis.CONTRACT, facts.contract_id
    if facts.referral_ids:
        return Basis.REFERRAL, facts.referral_ids[0]
    return None


def referral_counts(status: str, updated_at: datetime, now: datetime, days: int) -> bool:
    """Whether a referral still gives its institutions' clinicians a care relationship at ``now``: open (not in a
    terminal status), or ended (its last move) less than ``days`` ago."""
    try:
        st = Status(status)
    except ValueError:
        return False
    return st not in TERMINAL or now - updated_at < timedelta(days=days)
