"""Submitting a choice (提交定点选择): the use case the web platform and the command line share.

``submit_choice(cmd, uow)`` checks the choice with the domain rule (``enrollment.domain.validate_choice``: window,
nesting, county), appends it (a refused choice is kept too, with its refusal code), and, when valid, sets the
designation for the year of every household member the chooser may choose for (``enrollment.household``,
``policy.enrollment.household_mode``). Each member the choice counts for gets their own choice row (``chooser_id`` says
who made it), so the designations stay derivable from the choices: the last valid choice (by ``chosen_at``) wins.

Concurrency: the household's person rows are locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
serialises writers with ``BEGIN IMMEDIATE``), ``designations(person_id, year)`` is unique, and a serialization or
unique-key conflict makes the whole use case run again (up to ``attempts`` times) in a fresh transaction. Two choices
for one person at the same time thus leave one designation and two choice rows.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

from yigongti.core.dates import china_now  # re-exported: callers import it from here too
from yigongti.core.policy import Policy
from yigongti.enrollment.domain import Choice, Designation, Refusal, validate_choice
from yigongti.enrollment.household import covered_members
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork, is_retryable
from yigongti.registry.domain import Registry

__all__ = [
    "DEFAULT_ATTEMPTS",
    "ChoiceResult",
    "ChooserNotAllowed",
    "SubmitChoice",
    "UnknownPerson",
    "china_now",
    "submit_choice",
]

DEFAULT_ATTEMPTS = 8




class UnknownPerson(LookupError):
    """The person of a choice is not in the database."""

    def __init__(self, person_id: str) -> None:
        self.person_id = person_id
        super().__init__(f"参保人 {person_id} 不存在 / person {person_id} does not exist")


class ChooserNotAllowed(PermissionError):
    """The chooser may not choose for that person (another household, or the household rule does not allow it);
    ``same_household`` tells the two apart."""

    def __init__(self, chooser_id: str, person_id: str, *, same_household: bool = True) -> None:
        self.chooser_id = chooser_id
        self.person_id = person_id
        self.same_household = same_household
        super().__init__(f"{chooser_id} 不能为 {person_id} 选择定点机构 / {chooser_id} may not choose for {person_id}"
                         " (policy.enrollment.household_mode)")


@dataclass(frozen=True)
class SubmitChoice:
    """A choice of designated institutions for ``person_id`` and ``year``, made at ``chosen_at`` (China time).

    ``chooser_id``: who makes it, by default the person themself; another member of the household may choose for
    the person when the household rule allows it (``enrollment.household.covered_members``), else
    :class:`ChooserNotAllowed` is raised. ``for_household`` (when the person chooses for themself): the choice also
    counts for the household members they may choose for. ``actor``: who submitted it (a user name; the audit log's
    "who"), by default the chooser.
    """

    person_id: str
    year: int
    consortium_id: str | None
    township_id: str | None
    village_id: str | None
    chosen_at: datetime
    for_household: bool = True
    actor: str | None = None
    channel: str = "web"
    chooser_id: str | None = None

    @property
    def chooser(self) -> str:
        return self.chooser_id or self.person_id

    @property
    def choice(self) -> Choice:
        """The domain value of this choice (empty ids as None)."""
        return Choice(self.person_id, self.year, self.consortium_id or None, self.township_id or None,
                      self.village_id or None, self.chosen_at)


@dataclass(frozen=True)
class ChoiceResult:
    """What became of a choice: accepted or refused (with the refusal), and the designations it set."""

    choice_id: int
    accepted: bool
    refusal: Refusal | None = None
    applied_to: tuple[str, ...] = ()
    designations: tuple[Designation, ...] = field(default_factory=tuple)
    attempts: int = 1

    @property
    def message(self) -> str:
        if self.refusal is not None:
            return self.refusal.message
        return f"已受理，适用于 {len(self.applied_to)} 人 / accepted for {len(self.applied_to)} person(s)"


def submit_choice(cmd: SubmitChoice, uow: SqlAlchemyUnitOfWork, *, policy: Policy | None = None,
                  now: datetime | None = None, attempts: int = DEFAULT_ATTEMPTS,
                  registry: Registry | None = None) -> ChoiceResult:
    """Check, record and apply one choice in one transaction; retry on a conflict with a concurrent choice.

    ``now`` is when the choice is recorded (default: the current China time). ``registry``: the registry to check
    the choice against (a server keeps one per process, ``registry.service``); default: the named consortium
    and institutions read in the transaction. Raises :class:`UnknownPerson` and :class:`ChooserNotAllowed`
    (nothing is recorded then).
    """
    policy = policy or Policy()
    for attempt in range(1, attempts + 1):
        try:
            result = _submit_once(cmd, uow, policy=policy, now=now or china_now(), registry=registry)
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            time.sleep(min(0.5, 0.01 * 2 ** attempt))
            continue
        return ChoiceResult(result.choice_id, result.accepted, result.refusal, result.applied_to,
                            result.designations, attempt)
    raise AssertionError("unreachable")


def _submit_once(cmd: SubmitChoice, uow: SqlAlchemyUnitOfWork, *, policy: Policy, now: datetime,
                 registry: Registry | None) -> ChoiceResult:
    with uow:
        household = uow.persons.household_of(cmd.person_id, lock=True)  # the person's row and household, locked
        person = next((r for r in household if r.person_id == cmd.person_id), None)
        if person is None:
            raise UnknownPerson(cmd.person_id)
        members = uow.persons.members(household)

        def cover(chooser: str) -> tuple[str, ...]:
            return covered_members(chooser, members, mode=policy.enrollment.household_mode,
                                   adult_age=policy.enrollment.adult_age, on=cmd.chosen_at.date())

        if cmd.chooser != cmd.person_id:
            if cmd.chooser not in {m.person_id for m in members}:
                if uow.persons.get(cmd.chooser) is None:
                    raise UnknownPerson(cmd.chooser)
                raise ChooserNotAllowed(cmd.chooser, cmd.person_id, same_household=False)
            if cmd.person_id not in cover(cmd.chooser):
                raise ChooserNotAllowed(cmd.chooser, cmd.person_id)
        choice = cmd.choice
        if registry is None:
            registry = uow.registry.subset(consortium_ids=[choice.consortium_id or ""],
                                           inst_ids=[choice.township_id or "", choice.village_id or ""])
        refused = validate_choice(choice, registry=registry, person_county=person.county_code,
                                  window=policy.enrollment.window(cmd.year))
        actor = cmd.actor or cmd.chooser
        if refused is not None:
            choice_id = uow.choices.insert(_choice_row(cmd, cmd.person_id, now=now, refusal=refused))
            uow.audit.insert(actor=actor, action="choice.refused", at=now, person_id=cmd.person_id,
                             detail={"choice_id": choice_id, "year": cmd.year, "code": refused.code.value,
                                     "chooser_id": cmd.chooser})
            uow.commit()
            return ChoiceResult(choice_id, False, refused)
        if cmd.for_household and cmd.chooser == cmd.person_id:
            # a member insured in another county cannot have this county's institutions (docs/en/rules.md A2)
            same_county = {r.person_id for r in household if r.county_code == person.county_code}
            applied = tuple(p for p in cover(cmd.person_id) if p in same_county)
        else:
            applied = (cmd.person_id,)
        # the person's own row first, so that its choice_id is the one reported
        order = (cmd.person_id, *(p for p in applied if p != cmd.person_id))
        first_id = 0
        designations: list[Designation] = []
        for person_id in order:
            # the choice row, the designation (rules.md A3-A4: the last valid choice, by chosen_at, equal times the
            # later recorded, whatever order the choices arrived in) and the audit entry: one statement on PostgreSQL
            choice_id, designation = uow.choices.insert_accepted(
                _choice_row(cmd, person_id, now=now, refusal=None), now=now, actor=actor, action="choice.accepted",
                detail={"year": cmd.year, "chooser_id": cmd.chooser, "consortium_id": cmd.consortium_id,
                        "township_id": cmd.township_id, "village_id": cmd.village_id})
            first_id = first_id or choice_id
            designations.append(designation)
        uow.commit()
        return ChoiceResult(first_id, True, None, tuple(sorted(applied)),
                            tuple(sorted(designations, key=lambda d: d.person_id)))


def _choice_row(cmd: SubmitChoice, person_id: str, *, now: datetime, refusal: Refusal | None) -> dict[str, Any]:
    """The column values of one choice row."""
    return {
        "choice_key": f"{cmd.channel}:{uuid.uuid4().hex}", "person_id": person_id, "chooser_id": cmd.chooser,
        "year": cmd.year,
        "consortium_id": cmd.consortium_id or None, "township_id": cmd.township_id or None,
        "village_id": cmd.village_id or None, "chosen_at": cmd.chosen_at,
        "status": "refused" if refusal else "valid", "refusal_code": refusal.code.value if refusal else None,
        "refusal_message": refusal.message if refusal else None, "channel": cmd.channel, "recorded_at": now,
    }
