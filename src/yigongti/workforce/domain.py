"""The rules of pooled staff and care quality (人员县管乡用、乡聘村用；处方点评、病历质控), pure.

Staff (人员): one registry across the members; a person has an employer (编制/聘用单位) and works where they are used
(``works_at``): a county-managed doctor used at a township centre (县管乡用), a village doctor hired by the township
centre and used at a village clinic (乡聘村用). A professional title (职称): junior 初级, intermediate 中级 (for a
doctor: 主治医师), associate senior 副高, senior 正高.

Stationing (派驻): a doctor of the lead hospital or of a city hospital stationed at an institution from ``start`` to
``end`` (both included; no end: still there). The rules (seed 002 §2(3) and §7), as policy ``[workforce]``:

- every township centre has, every day of the year, at least ``attending_per_township`` (1) doctor of the
  consortium's lead hospital with a title of attending level or above (主治医师以上) stationed there (常年服务);
- every consortium has, every day of the year, at least ``city_experts`` (3) experts of a city tertiary hospital
  stationed at its members (常年驻守指导).

A rule is judged day by day: :func:`headcount_runs` cuts the year into runs of days with a constant number of
people stationed at once (overlapping stints of one person count once); the rule is met on a day when that number
reaches the requirement, and met for the year (常年) when it is met on every day; the days it is not are the gaps.

Prescription review (处方点评): each period a sample of an institution's prescriptions is drawn at random,
reproducibly (:func:`draw_sample`: the same seed draws the same sample whatever the order of the list, and a larger
rate draws a superset), then scored 0-100 by the reviewer; scores are summed per doctor and per institution.

Medical-record quality (病历质控): a checklist of items with weights (configuration, :func:`checklist_from_toml`);
a record's score is the weighted share of the items it passes, 0-100.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "TEAM_DUTIES",
    "TEAM_KINDS",
    "Checklist",
    "ChecklistError",
    "ChecklistItem",
    "Coverage",
    "Profession",
    "ScoreSummary",
    "StaffingRule",
    "Stint",
    "Title",
    "checklist_from_toml",
    "coverage",
    "days_in_year",
    "draw_sample",
    "headcount_runs",
    "merge_days",
    "sample_size",
    "stationed_days",
    "summarise_scores",
    "training_met",
]

BP = 10_000  # basis points in 100%


class Title(StrEnum):
    """职称 / professional title (labels: ``core.labels`` group ``title``)."""

    JUNIOR = "junior"
    INTERMEDIATE = "intermediate"
    ASSOCIATE_SENIOR = "associate_senior"
    SENIOR = "senior"


class Profession(StrEnum):
    """专业类别 / what the person is (labels: group ``profession``)."""

    DOCTOR = "doctor"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    MANAGER = "manager"
    OTHER = "other"


class StaffingRule(StrEnum):
    """派驻规则 / the two stationing rules (labels: group ``staffing_rule``)."""

    ATTENDING = "attending"        # >= 1 lead-hospital attending doctor per township centre, year-round
    CITY_EXPERTS = "city_experts"  # >= 3 city tertiary-hospital experts per consortium, year-round


@dataclass(frozen=True)
class Stint:
    """派驻 / one person stationed somewhere from ``start`` to ``end`` (both included; None: still there)."""

    staff_id: str
    start: date
    end: date | None = None


def days_in_year(year: int) -> int:
    return (date(year, 12, 31) - date(year, 1, 1)).days + 1


def _clip(start: date, end: date | None, year: int) -> tuple[date, date] | None:
    lo, hi = max(start, date(year, 1, 1)), min(end or date(year, 12, 31), date(year, 12, 31))
    return (lo, hi) if lo <= hi else None


def merge_days(spans: Iterable[tuple[date, date | None]], year: int) -> list[tuple[date, date]]:
    """The days of ``year`` inside any of ``spans``, as disjoint runs in order (touching runs joined)."""
    clipped = sorted(c for s, e in spans if (c := _clip(s, e, year)) is not None)
    out: list[tuple[date, date]] = []
    for lo, hi in clipped:
        if out and lo <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def stationed_days(spans: Iterable[tuple[date, date | None]], year: int) -> int:
    """Days of ``year`` a person was stationed (overlapping stints counted once)."""
    return sum((hi - lo).days + 1 for lo, hi in merge_days(spans, year))


def headcount_runs(stints: Iterable[Stint], year: int) -> list[tuple[date, date, int]]:
    """The year cut into runs ``(first day, last day, people stationed)`` covering every day of it, in order; a
    person with overlapping stints counts once."""
    by_person: dict[str, list[tuple[date, date | None]]] = {}
    for s in stints:
        by_person.setdefault(s.staff_id, []).append((s.start, s.end))
    delta: dict[date, int] = {}
    for spans in by_person.values():
        for lo, hi in merge_days(spans, year):
            delta[lo] = delta.get(lo, 0) + 1
            delta[hi + timedelta(days=1)] = delta.get(hi + timedelta(days=1), 0) - 1
    first, last = date(year, 1, 1), date(year, 12, 31)
    cuts = sorted({first, *(d for d in delta if d <= last)})
    runs: list[tuple[date, date, int]] = []
    n = 0
    for i, day in enumerate(cuts):
        n += delta.get(day, 0)
        end = cuts[i + 1] - timedelta(days=1) if i + 1 < len(cuts) else last
        if runs and runs[-1][2] == n:
            runs[-1] = (runs[-1][0], end, n)
        else:
            runs.append((day, end, n))
    return runs


@dataclass(frozen=True)
class Coverage:
    """How a rule fared over a year: ``days_met`` of ``days``; ``gaps`` the runs of days it was not met;
    ``fewest`` the fewest people stationed on any day."""

    required: int
    days: int
    days_met: int
    gaps: tuple[tuple[date, date], ...]
    fewest: int

    @property
    def met(self) -> bool:
        """常年达标 / met on every day of the year."""
        return self.days_met == self.days


def coverage(stints: Iterable[Stint], year: int, required: int) -> Coverage:
    """Whether at least ``required`` people are stationed on each day of ``year``."""
    runs = headcount_runs(stints, year)
    gaps: list[tuple[date, date]] = []
    met = 0
    for lo, hi, n in runs:
        if n >= required:
            met += (hi - lo).days + 1
        elif gaps and gaps[-1][1] + timedelta(days=1) == lo:
            gaps[-1] = (gaps[-1][0], hi)
        else:
            gaps.append((lo, hi))
    return Coverage(required, days_in_year(year), met, tuple(gaps), min(n for _, _, n in runs))


# ------------------------------------------------------------------------------------------ prescription review

def sample_size(n: int, rate_bp: int, minimum: int) -> int:
    """How many of ``n`` prescriptions are drawn: the rate's share rounded up, at least ``minimum``, at most all."""
    return min(n, max(minimum, -(-n * rate_bp // BP)))


def _rank(seed: str, item: str) -> str:
    return hashlib.sha256(f"{seed}\x1f{item}".encode()).hexdigest()


def draw_sample(ids: Iterable[str], *, rate_bp: int, minimum: int, seed: str) -> list[str]:
    """抽样 / Draw the prescriptions to review, reproducibly: each id ranked by a hash of the seed and the id, the
    first :func:`sample_size` taken (in rank order). The same seed and ids draw the same sample in any order; a larger
    rate or minimum draws a superset of a smaller one. Duplicate ids count once."""
    unique = sorted(set(ids), key=lambda i: (_rank(seed, i), i))
    return unique[:sample_size(len(unique), rate_bp, minimum)]


@dataclass(frozen=True)
class ScoreSummary:
    """Scores of one doctor or institution: ``reviewed`` items, ``points`` their sum, ``passed`` those at or above
    the pass score; ``mean`` to 0.1 (None when none)."""

    reviewed: int
    points: int
    passed: int

    @property
    def mean(self) -> Decimal | None:
        if not self.reviewed:
            return None
        return (Decimal(self.points) / self.reviewed).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def summarise_scores(scores: Iterable[tuple[str, int]], pass_score: int) -> dict[str, ScoreSummary]:
    """Sum ``(key, score)`` pairs per key (a doctor, an institution)."""
    acc: dict[str, tuple[int, int, int]] = {}
    for key, score in scores:
        n, pts, ok = acc.get(key, (0, 0, 0))
        acc[key] = (n + 1, pts + score, ok + int(score >= pass_score))
    return {k: ScoreSummary(*v) for k, v in sorted(acc.items())}


# ------------------------------------------------------------------------------------------ record checklist

class ChecklistError(ValueError):
    """A checklist file that does not validate; the message names the file and the item."""


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    name_zh: str
    name_en: str
    weight: int


@dataclass(frozen=True)
class Checklist:
    """病历质控评分表 / the medical-record checklist: items with integer weights (> 0)."""

    items: tuple[ChecklistItem, ...]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(i.code for i in self.items)

    def score(self, passed: Iterable[str]) -> int:
        """The record's score 0-100: the weighted share of the items passed, rounded half up; an unknown item is a
        :class:`ChecklistError`."""
        ok = set(passed)
        unknown = sorted(ok - self.codes)
        if unknown:
            raise ChecklistError(f"unknown checklist items / 评分表中没有: {', '.join(unknown)}")
        total = sum(i.weight for i in self.items)
        got = sum(i.weight for i in self.items if i.code in ok)
        return int((Decimal(100 * got) / total).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _item(raw: Any, where: str) -> ChecklistItem:
    if not isinstance(raw, Mapping):
        raise ChecklistError(f"{where}: an item is a table / 条目须为表")
    extra = sorted(set(raw) - {"code", "name_zh", "name_en", "weight"})
    if extra:
        raise ChecklistError(f"{where}: unknown key {', '.join(extra)} / 未知字段")
    code, zh, en, weight = raw.get("code"), raw.get("name_zh"), raw.get("name_en", ""), raw.get("weight")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise ChecklistError(f"{where}.code: required text of at most 64 characters / 必填")
    if not isinstance(zh, str) or not zh.strip():
        raise ChecklistError(f"{where}.name_zh: required / 必填")
    if not isinstance(en, str):
        raise ChecklistError(f"{where}.name_en: text / 须为文本")
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 1000:
        raise ChecklistError(f"{where}.weight: a whole number 1-1000 / 权重须为 1-1000 的整数")
    return ChecklistItem(code.strip(), zh.strip(), en.strip(), weight)


def checklist_from_toml(text: str, *, source: str = "record_checklist.toml") -> Checklist:
    """Read ``[[item]]`` tables (code, name_zh, name_en, weight); :class:`ChecklistError` naming the file and the
    item for anything wrong (no items, a duplicate code, a weight that is not a whole number 1-1000)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChecklistError(f"{source}: not valid TOML: {exc}") from None
    raw = data.get("item")
    if not isinstance(raw, list) or not raw:
        raise ChecklistError(f"{source}: no [[item]] / 没有评分条目")
    items = tuple(_item(r, f"{source}: item[{i}]") for i, r in enumerate(raw))
    seen: set[str] = set()
    for i, it in enumerate(items):
        if it.code in seen:
            raise ChecklistError(f"{source}: item[{i}].code: {it.code} appears twice / 编码重复")
        seen.add(it.code)
    return Checklist(items)


# 应急队伍 (seed 002 十): the kinds of emergency team and a member's duty in it
TEAM_DUTIES: Mapping[str, str] = {"leader": "队长 / leader", "deputy": "副队长 / deputy", "member": "队员 / member"}
TEAM_KINDS: Mapping[str, str] = {"epidemic": "传染病防控 / epidemic response",
                                 "rescue": "紧急医学救援 / emergency medical rescue",
                                 "poisoning": "中毒处置 / poisoning response"}


def training_met(hours: Decimal, required: Decimal) -> bool | None:
    """Whether a person's training hours of the year reach the required hours (基层人员培训学时达标); None when
    nothing is required (0: not assessed)."""
    return None if required <= 0 else hours >= required
