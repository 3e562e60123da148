"""Household choices (家庭选择): for whom a household member's choice counts (rules.md §3 and A).

``policy.enrollment.household_mode`` says who may choose for whom:

- ``each_adult`` (each adult for themself): an adult's choice counts for themself and the household's children;
- ``head_for_all_adults`` (the head 户主 chooses for all adults): the head's choice counts for every member; another
  adult's choice counts for themself only.

Children (under ``adult_age`` on the day of the choice) follow a parent: a child's own choice counts for the child
only, and is replaced by the next choice an adult makes for the household. The head is the member marked as head
(``household_head``; the lowest person_id if several are marked), else the oldest adult (equal birth dates: the lowest
person_id). Every choice counts for the chooser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from yigongti.core.policy import HouseholdMode

__all__ = ["Member", "completed_years", "covered_members", "household_head"]


@dataclass(frozen=True)
class Member:
    """A household member as far as choosing goes: id, birth date, whether marked as the head (户主)."""

    person_id: str
    birth_date: date
    head: bool = False


def completed_years(birth_date: date, on: date) -> int:
    """Age in completed years on ``on`` (a person born on Feb 29 turns a year older on Mar 1 in common years)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def household_head(members: Sequence[Member], *, adult_age: int, on: date) -> Member | None:
    """The head: the marked member (lowest id if several), else the oldest adult; None for a household of children."""
    marked = sorted((m for m in members if m.head), key=lambda m: m.person_id)
    if marked:
        return marked[0]
    adults = [m for m in members if completed_years(m.birth_date, on) >= adult_age]
    return min(adults, key=lambda m: (m.birth_date, m.person_id)) if adults else None


def covered_members(chooser_id: str, members: Sequence[Member], *, mode: HouseholdMode, adult_age: int,
                    on: date) -> tuple[str, ...]:
    """The person ids (sorted, the chooser included) a choice made by ``chooser_id`` on ``on`` counts for.

    ``members`` is the chooser's household, the chooser included.
    """
    by_id = {m.person_id: m for m in members}
    chooser = by_id.get(chooser_id)
    if chooser is None:
        raise ValueError(f"{chooser_id} is not a member of the household given / 不是该户成员")

    def adult(m: Member) -> bool:
        return completed_years(m.birth_date, on) >= adult_age

    if not adult(chooser):
        return (chooser_id,)
    children = {m.person_id for m in members if not adult(m)}
    if mode is HouseholdMode.HEAD_FOR_ALL:
        head = household_head(members, adult_age=adult_age, on=on)
        if head is not None and head.person_id == chooser_id:
            return tuple(sorted(by_id))
        return (chooser_id,)
    return tuple(sorted(children | {chooser_id}))
