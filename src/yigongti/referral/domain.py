"""The rules of referral (转诊规则), pure: the workflow's state machine, who may move it, and the arithmetic of places
reserved for referred patients (预留号源).

Workflow (转诊流程), up or down the tiers::

    requested 已申请 -> accepted 已接收 | declined 已拒绝 | cancelled 已取消 | expired 已过期
    accepted 已接收  -> booked 已预约 | cancelled | expired
    booked 已预约    -> arrived 已到诊 | cancelled
    arrived 已到诊   -> completed 已完成
    completed 已完成 -> returned 已回转 (back to the family doctor with a care plan 康复/随访计划)

The sender (发出方) is a clinician of the referring institution; the receiver (接收方) a clinician or the admin of the
receiving institution; the system (系统) only lets a referral expire. A transition the workflow does not have is
:class:`TransitionNotAllowed` (the API answers 409); one it has but not for that party is :class:`PartyNotAllowed`
(403).

Reserved places (预留): a slot of ``capacity`` places keeps ``reserved_places(capacity, share)`` of them (rounded up:
"at least" the share) for referred patients until ``release_hours`` before it starts. A referred patient may take any
free place (green channel 绿色通道); anyone else only a place that leaves the still-unused reserve free, until the
release.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from yigongti.core import workflow
from yigongti.core.codes import Tier
from yigongti.core.money import BP
from yigongti.core.policy import InternalPrice, deep_merge
from yigongti.core.workflow import MoveNotAllowed, PartyMoveNotAllowed

__all__ = [
    "ARRIVED",
    "CATALOGUE_NAMES",
    "COMPLETED",
    "DIRECTION_LABELS",
    "KIND_LABELS",
    "STATUS_LABELS",
    "TERMINAL",
    "TRANSITIONS",
    "Direction",
    "Party",
    "PartyNotAllowed",
    "SlotKind",
    "SlotState",
    "Status",
    "TransitionNotAllowed",
    "Catalogue",
    "CatalogueError",
    "Catalogues",
    "InternalService",
    "StatementLine",
    "allowed_next",
    "can_book",
    "catalogues_from_toml",
    "check_transition",
    "first_visit_flag",
    "internal_statement",
    "is_released",
    "normalize_icd",
    "reserved_places",
    "validate_catalogue_doc",
]


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Status(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    BOOKED = "booked"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class SlotKind(StrEnum):
    SPECIALIST = "specialist"
    BED = "bed"
    EXAM = "exam"


class Party(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"
    SYSTEM = "system"


STATUS_LABELS: dict[str, str] = {
    Status.REQUESTED: "已申请 / requested", Status.ACCEPTED: "已接收 / accepted", Status.DECLINED: "已拒绝 / declined",
    Status.BOOKED: "已预约 / booked", Status.ARRIVED: "已到诊 / arrived", Status.COMPLETED: "已完成 / completed",
    Status.RETURNED: "已回转 / returned", Status.CANCELLED: "已取消 / cancelled", Status.EXPIRED: "已过期 / expired",
}
DIRECTION_LABELS: dict[str, str] = {Direction.UP: "上转 / up", Direction.DOWN: "下转 / down"}
KIND_LABELS: dict[str, str] = {SlotKind.SPECIALIST: "专家号 / specialist", SlotKind.BED: "床位 / bed",
                               SlotKind.EXAM: "检查 / exam"}

_S, _R, _Y = Party.SENDER, Party.RECEIVER, Party.SYSTEM
TRANSITIONS: Mapping[Status, Mapping[Status, frozenset[Party]]] = {
    Status.REQUESTED: {Status.ACCEPTED: frozenset({_R}), Status.DECLINED: frozenset({_R}),
                       Status.CANCELLED: frozenset({_S}), Status.EXPIRED: frozenset({_Y})},
    Status.ACCEPTED: {Status.BOOKED: frozenset({_S, _R}), Status.CANCELLED: frozenset({_S, _R}),
                      Status.EXPIRED: frozenset({_Y})},
    Status.BOOKED: {Status.ARRIVED: frozenset({_R}), Status.CANCELLED: frozenset({_S, _R})},
    Status.ARRIVED: {Status.COMPLETED: frozenset({_R})},
    Status.COMPLETED: {Status.RETURNED: frozenset({_R})},
}
"""current status -> next status -> the parties that may make that move."""

ARRIVED: frozenset[Status] = frozenset({Status.ARRIVED, Status.COMPLETED, Status.RETURNED})
"""A referral whose patient reached the receiving institution: counted as an up- or down-referral (indicators)."""
COMPLETED: frozenset[Status] = frozenset({Status.COMPLETED, Status.RETURNED})
"""A completed referral (indicator: referrals completed)."""

TERMINAL: frozenset[Status] = frozenset(s for s in Status if not TRANSITIONS.get(s))
"""Statuses nothing follows: declined, returned, cancelled, expired."""


class TransitionNotAllowed(MoveNotAllowed):
    """The workflow has no move from ``current`` to ``target`` (409)."""

    noun_zh, noun_en, labels = "转诊", "a referral", STATUS_LABELS


class PartyNotAllowed(PartyMoveNotAllowed):
    """The move exists but this party may not make it (403)."""

    noun_zh, noun_en = "转诊", "a referral"


def check_transition(current: str, target: str, party: Party) -> Status:
    """The new status when ``party`` may move a referral from ``current`` to ``target``; else raises
    :class:`TransitionNotAllowed` (no such move, or an unknown status) or :class:`PartyNotAllowed`."""
    return workflow.check_move(TRANSITIONS, Status, current, target, party, refused=TransitionNotAllowed,
                               party_refused=PartyNotAllowed)


def allowed_next(current: Status, party: Party) -> list[Status]:
    """The moves ``party`` may make from ``current`` (what a page offers as buttons)."""
    return workflow.moves_for(TRANSITIONS, Status, current, party)


def reserved_places(capacity: int, share: int) -> int:
    """Places of a slot reserved for referred patients: ``share`` (basis points) of ``capacity``, rounded up."""
    if capacity < 0 or not 0 <= share <= BP:
        raise ValueError(f"capacity must be >= 0 and the share between 0 and 100%: {capacity}, {share}")
    return -(-capacity * share // BP)


def is_released(start: datetime, now: datetime, release_hours: int) -> bool:
    """Whether the reserve of a slot starting at ``start`` is open to everyone at ``now``."""
    return now >= start - timedelta(hours=release_hours)


@dataclass(frozen=True)
class SlotState:
    """A slot's places: ``booked`` in all, ``booked_open`` of them without a referral."""

    capacity: int
    reserved: int
    booked: int = 0
    booked_open: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.reserved <= self.capacity or not 0 <= self.booked_open <= self.booked <= self.capacity:
            raise ValueError(f"inconsistent slot: {self}")

    def book(self, *, referred: bool, released: bool) -> SlotState:
        """The slot after one more booking; ValueError when :func:`can_book` says no."""
        if not can_book(self, referred=referred, released=released):
            raise ValueError("no place left for this booking")
        return SlotState(self.capacity, self.reserved, self.booked + 1, self.booked_open + (0 if referred else 1))

    def cancel(self, *, referred: bool) -> SlotState:
        return SlotState(self.capacity, self.reserved, self.booked - 1, self.booked_open - (0 if referred else 1))


def can_book(slot: SlotState, *, referred: bool, released: bool) -> bool:
    """Whether one more booking fits: a referred patient takes any free place; anyone else, before the release, only
    one of the ``capacity - reserved`` open places (the same condition the store's conditional UPDATE checks)."""
    if slot.booked >= slot.capacity:
        return False
    return referred or released or slot.booked_open < slot.capacity - slot.reserved


# ------------------------------------------------------------------------------------------------ disease catalogues

CATALOGUE_NAMES: dict[str, str] = {"first_visit": "基层首诊病种 / first seen at primary level",
                                   "refer_down": "下转病种 / referred down when stable"}
"""The two catalogues (病种目录) and their labels."""
_CODE = r"[A-Z][0-9]{2}(?:\.?[0-9A-Z]{1,4})?"
_KEY = re.compile(rf"^({_CODE})(?:-([A-Z][0-9]{{2}}))?$")


class CatalogueError(ValueError):
    """A catalogue file that cannot be used: names the file, the catalogue and the code."""


def normalize_icd(code: str) -> str:
    """An ICD-10 code as matched: upper case, no dots, no spaces (``k29.5`` -> ``K295``)."""
    return "".join(code.split()).replace(".", "").upper()


@dataclass(frozen=True)
class Catalogue:
    """病种目录 / one catalogue: ICD-10 codes (prefixes) and ranges of three-character categories, each with its label.
    ``entries``: (key as written, label), sorted by key."""

    name: str
    entries: tuple[tuple[str, str], ...]

    @property
    def patterns(self) -> tuple[tuple[str, str, str], ...]:
        """(low, high, key): a code when ``high`` is empty (matched as a prefix, dots removed), else a range of
        three-character categories ``low``..``high``."""
        out = []
        for key, _ in self.entries:
            lo, _, hi = key.partition("-")
            out.append((normalize_icd(lo), hi, key))
        return tuple(out)

    def match(self, diagnosis: str | None) -> tuple[str, str] | None:
        """The (key, label) a diagnosis falls under, the most specific code first; None when none."""
        code = normalize_icd(diagnosis or "")
        if not code:
            return None
        labels = dict(self.entries)
        best: tuple[int, str] | None = None
        for lo, hi, key in self.patterns:
            hit = lo <= code[:3] <= hi if hi else code.startswith(lo)
            rank = len(lo) if not hi else 0
            if hit and (best is None or rank > best[0]):
                best = (rank, key)
        return (best[1], labels[best[1]]) if best else None

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class Catalogues:
    """The two catalogues of two-way referral."""

    first_visit: Catalogue
    refer_down: Catalogue


def validate_catalogue_doc(doc: Mapping[str, Any], *, source: str) -> Catalogues:
    """The catalogues of a parsed (and merged) document: ``[first_visit]`` and ``[refer_down]`` tables of ICD-10 code
    or range -> label (``false``: dropped by an override). :class:`CatalogueError` names the file, the catalogue and
    the code of the first thing wrong."""
    unknown = sorted(set(doc) - set(CATALOGUE_NAMES))
    if unknown:
        raise CatalogueError(f"{source}: unknown table [{unknown[0]}]; expected {', '.join(CATALOGUE_NAMES)} / "
                             f"未知的表")
    out: dict[str, Catalogue] = {}
    for name in CATALOGUE_NAMES:
        table = doc.get(name)
        if not isinstance(table, Mapping):
            raise CatalogueError(f"{source}: [{name}] is missing or not a table / 缺少病种目录 [{name}]")
        entries: list[tuple[str, str]] = []
        for key, label in table.items():
            where = f"{source}: [{name}] {key!r}"
            m = _KEY.match(key)
            if m is None:
                raise CatalogueError(f"{where}: not an ICD-10 code (I10, K29.5) or range of categories (J00-J06) / "
                                     f"不是 ICD-10 编码或类目范围")
            if m.group(2) and (len(normalize_icd(m.group(1))) != 3 or m.group(2) < m.group(1)):
                raise CatalogueError(f"{where}: a range runs from a three-character category to a later one / "
                                     f"范围须为由小到大的三位类目")
            if label is False:
                continue
            if not isinstance(label, str) or not label.strip():
                raise CatalogueError(f"{where}: the label must be text \"中文 / English\" (false drops the code) / "
                                     f"名称须为文本")
            entries.append((key, label.strip()))
        if not entries:
            raise CatalogueError(f"{source}: [{name}] lists no disease / 病种目录为空")
        out[name] = Catalogue(name, tuple(sorted(entries)))
    return Catalogues(first_visit=out["first_visit"], refer_down=out["refer_down"])


def catalogues_from_toml(text: str, *, source: str = "catalogues.toml",
                         base: Mapping[str, Any] | None = None) -> Catalogues:
    """The catalogues from TOML text, laid key by key over ``base`` (the parsed shipped file) when given."""
    try:
        doc: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: not valid TOML: {exc} / 不是有效的 TOML") from None
    if base is not None:
        doc = deep_merge(base, doc)
    return validate_catalogue_doc(doc, source=source)


def first_visit_flag(catalogues: Catalogues, *, tier: str, diagnosis: str | None, referred: bool,
                     emergency: bool = False) -> tuple[str, str] | None:
    """基层首诊提示: the first-visit disease (key, label) when a visit at a county-tier institution for it comes
    without a referral (an emergency is never flagged); None otherwise."""
    if tier != Tier.COUNTY or referred or emergency:
        return None
    return catalogues.first_visit.match(diagnosis)


# ------------------------------------------------------------------------------------------------ internal settlement

@dataclass(frozen=True)
class InternalService:
    """One service between two institutions (成员单位间服务): ``item`` a key of ``policy.referral.prices``
    (``up_referral``, ``down_referral``, or a kind of remote diagnosis), in ``month`` (``YYYY-MM``), from the
    ``sender`` (who referred or requested) to the ``receiver``."""

    item: str
    month: str
    sender: str
    receiver: str


@dataclass(frozen=True)
class StatementLine:
    """内部结算单 / one line of a member's monthly internal statement: ``services`` of ``item`` this month,
    ``received`` and ``paid`` (fen, >= 0)."""

    consortium_id: str
    month: str
    inst_id: str
    item: str
    services: int
    received: int
    paid: int

    @property
    def net(self) -> int:
        return self.received - self.paid


def internal_statement(services: Iterable[InternalService], consortium_of: Mapping[str, str | None],
                       prices: Mapping[str, InternalPrice]) -> tuple[list[StatementLine], int]:
    """The monthly internal statement of every member: for each service between two members of the same consortium,
    the payer (``prices[item].payer``: the sender or the receiver) pays the other side the price. Every price paid
    is received inside the same consortium and month, so each consortium's lines of a month sum to zero (net).
    Returns the lines, ordered by consortium, month, member and item, and how many services were left out (between
    consortia, with an institution outside every consortium, to itself, or of an item without a price)."""
    acc: dict[tuple[str, str, str, str], list[int]] = {}
    skipped = 0
    for sv in services:
        cons = consortium_of.get(sv.sender)
        price = prices.get(sv.item)
        if cons is None or price is None or sv.sender == sv.receiver or consortium_of.get(sv.receiver) != cons:
            skipped += 1
            continue
        payer, payee = (sv.sender, sv.receiver) if price.payer == "sender" else (sv.receiver, sv.sender)
        for inst, received, paid in ((payee, price.price, 0), (payer, 0, price.price)):
            line = acc.setdefault((cons, sv.month, inst, sv.item), [0, 0, 0])
            line[0] += 1
            line[1] += received
            line[2] += paid
    lines = [StatementLine(c, m, i, item, n, r, p) for (c, m, i, item), (n, r, p) in sorted(acc.items())]
    return lines, skipped
