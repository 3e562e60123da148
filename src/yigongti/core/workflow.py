"""A workflow of statuses moved by parties (流程状态机): referrals, remote diagnosis orders. One check for every
workflow: the move must exist (else 409) and the party must be one that may make it (else 403)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar, TypeVar

from yigongti.core.problems import Conflict, NotAllowed

__all__ = ["MoveNotAllowed", "PartyMoveNotAllowed", "check_move", "moves_for"]

S = TypeVar("S", bound=StrEnum)
P = TypeVar("P", bound=StrEnum)


class MoveNotAllowed(Conflict, ValueError):
    """The workflow has no move from ``current`` to ``target`` (409). A workflow's subclass names its record
    (``noun_zh``, ``noun_en``) and the labels of its statuses."""

    noun_zh: ClassVar[str] = "记录"
    noun_en: ClassVar[str] = "a record"
    labels: ClassVar[Mapping[str, str]] = {}

    def __init__(self, current: str, target: str) -> None:
        self.current, self.target = current, target
        was, wanted = self.labels.get(current, current), self.labels.get(target, target)
        super().__init__(f"{self.noun_zh}状态不能从「{was}」变为「{wanted}」 / {self.noun_en} cannot go from "
                         f"{current} to {target}")


class PartyMoveNotAllowed(NotAllowed):
    """The move exists but this party may not make it (403)."""

    noun_zh: ClassVar[str] = "记录"
    noun_en: ClassVar[str] = "a record"

    def __init__(self, current: str, target: str, party: str) -> None:
        self.current, self.target, self.party = current, target, party
        super().__init__(f"{party} 无权将{self.noun_zh}从 {current} 变为 {target} / the {party} may not move "
                         f"{self.noun_en} from {current} to {target}")


def check_move(transitions: Mapping[S, Mapping[S, frozenset[P]]], status: type[S], current: str, target: str,
               party: P, *, refused: type[MoveNotAllowed], party_refused: type[PartyMoveNotAllowed]) -> S:
    """The new status when ``party`` may move a record from ``current`` to ``target``; else raises ``refused`` (no
    such move, or an unknown status) or ``party_refused``."""
    try:
        now, nxt = status(current), status(target)
    except ValueError:
        raise refused(current, target) from None
    parties = transitions.get(now, {}).get(nxt)
    if parties is None:
        raise refused(current, target)
    if party not in parties:
        raise party_refused(current, target, party)
    return nxt


def moves_for(transitions: Mapping[S, Mapping[S, frozenset[P]]], status: type[S], current: str,
              party: P) -> list[S]:
    """The moves ``party`` may make from ``current`` (a page's buttons); none for an unknown status."""
    try:
        now = status(current)
    except ValueError:
        return []
    return [s for s, parties in transitions.get(now, {}).items() if party in parties]
