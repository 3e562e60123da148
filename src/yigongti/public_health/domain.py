"""The rules of notifiable infectious-disease reporting (法定传染病报告规则), pure.

The disease list (传染病目录) is configuration: each disease has a class (甲类 A, 乙类 B, 丙类 C) and ICD-10 prefixes;
a diagnosis matches the disease of its longest matching prefix (dots and case ignored: ``a00.9`` is ``A009``).

Deadline (报告时限): a Class A disease, or a Class B disease managed as Class A (乙类甲管; optionally only until a
date, as COVID-19 until 2023-01-07), is reported within ``class_a_hours`` (2) of the diagnosis; every other one
within ``other_hours`` (24).

Episode (病程): one report card per person, disease and episode. A diagnosis of the same person and disease within
``episode_days`` of the card's latest diagnosis joins that card (a follow-up visit, the same illness seen at another
member); a later one opens a new card. The card keeps its first diagnosis: where, when, and so its deadline.

Card status (报告卡状态)::

    pending 待报告 -> submitted 已报告 (on time 按时, or late 迟报 when after the deadline)
    pending 待报告 -> voided 已排除 (the diagnosis revised: not a case)

A pending card past its deadline is overdue (超时未报); counted per institution as missed (漏报) with the late ones.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import Any, TypeVar

__all__ = [
    "CLASS_LABELS",
    "SITE_KINDS",
    "STOCK_FLAG_LABELS",
    "WeekThreshold",
    "is_warning",
    "stock_flags",
    "week_start",
    "week_threshold",
    "STATUS_LABELS",
    "TIMELINESS_LABELS",
    "CardDraft",
    "CardStatus",
    "Catalogue",
    "CatalogueError",
    "Diagnosis",
    "Disease",
    "DiseaseClass",
    "ClusterCase",
    "FoodborneCase",
    "FoodborneCluster",
    "FoodborneList",
    "find_clusters",
    "place_key",
    "InstitutionTally",
    "Timeliness",
    "assign_episodes",
    "catalogue_from_toml",
    "deadline_of",
    "foodborne_from_toml",
    "joins_episode",
    "normalize_icd",
    "report_hours",
    "tally",
    "timeliness",
]


class DiseaseClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


CLASS_LABELS: Mapping[str, str] = {"A": "甲类 / Class A", "B": "乙类 / Class B", "C": "丙类 / Class C"}


class CardStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    VOIDED = "voided"


STATUS_LABELS: Mapping[str, str] = {"pending": "待报告 / pending", "submitted": "已报告 / submitted",
                                    "voided": "已排除 / voided"}


class Timeliness(StrEnum):
    PENDING = "pending"    # not yet reported, deadline not passed
    OVERDUE = "overdue"    # not reported and the deadline passed (漏报 when counted)
    ON_TIME = "on_time"
    LATE = "late"
    VOIDED = "voided"


TIMELINESS_LABELS: Mapping[str, str] = {"pending": "待报告 / pending", "overdue": "超时未报 / overdue",
                                        "on_time": "按时报告 / on time", "late": "迟报 / late",
                                        "voided": "已排除 / voided"}


class CatalogueError(ValueError):
    """A disease list that cannot be used: names the file, the entry and the field."""


def normalize_icd(code: str) -> str:
    """An ICD-10 code as matched: upper case, no dots, no spaces (``a00.9`` -> ``A009``)."""
    return "".join(code.split()).replace(".", "").upper()


@dataclass(frozen=True)
class Disease:
    """法定传染病 / a notifiable disease of the list."""

    code: str
    name_zh: str
    name_en: str
    cls: DiseaseClass
    icd10: tuple[str, ...]
    managed_as_a: bool = False
    managed_as_a_until: date | None = None

    def urgent_on(self, day: date) -> bool:
        """Reported within the Class A deadline on ``day`` (Class A, or Class B managed as A that day)."""
        if self.cls is DiseaseClass.A:
            return True
        if not self.managed_as_a:
            return False
        return self.managed_as_a_until is None or day <= self.managed_as_a_until

    @property
    def label(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


T = TypeVar("T")


def _longest_first(pairs: Iterable[tuple[str, T]]) -> list[tuple[str, T]]:
    return sorted(pairs, key=lambda pe: (-len(pe[0]), pe[0]))


def longest_prefix(diagnosis: str, pairs: Iterable[tuple[str, T]]) -> T | None:
    """The entry of the longest ICD-10 prefix that ``diagnosis`` (normalised) starts with; None for none. One rule
    for the notifiable list and the food-borne list."""
    code = normalize_icd(diagnosis)
    return next((e for p, e in _longest_first(pairs) if code.startswith(p)), None)


@dataclass(frozen=True)
class Catalogue:
    """The disease list; :meth:`match` finds a diagnosis's disease by the longest ICD-10 prefix."""

    diseases: tuple[Disease, ...]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for d in self.diseases:
            for p in d.icd10:
                if p in seen and seen[p] != d.code:
                    raise CatalogueError(f"disease {d.code}: icd10 prefix {p} is already {seen[p]}'s / 前缀重复")
                seen[p] = d.code

    def prefixes(self) -> list[tuple[str, Disease]]:
        """Every (prefix, disease), longest prefix first (the order a match tries them)."""
        return _longest_first((p, d) for d in self.diseases for p in d.icd10)

    def match(self, diagnosis: str) -> Disease | None:
        return longest_prefix(diagnosis, ((p, d) for d in self.diseases for p in d.icd10))

    def get(self, code: str) -> Disease | None:
        return next((d for d in self.diseases if d.code == code), None)


def _field(entry: Mapping[str, Any], name: str, where: str, kind: type, default: Any = None) -> Any:
    value = entry.get(name, default)
    if value is None or not isinstance(value, kind):
        raise CatalogueError(f"{where}: field {name} must be {kind.__name__} / 字段 {name} 缺失或类型不对")
    return value


def catalogue_from_toml(text: str, *, source: str = "diseases.toml") -> Catalogue:
    """The disease list from its TOML text (``[[disease]]`` entries); :class:`CatalogueError` names the file, the
    entry and the field of the first thing wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: not valid TOML: {exc} / 不是有效的 TOML") from None
    entries = doc.get("disease")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{source}: no [[disease]] entries / 没有传染病条目")
    out: list[Disease] = []
    for i, entry in enumerate(entries, start=1):
        where = f"{source}: disease {i}"
        if not isinstance(entry, dict):
            raise CatalogueError(f"{where}: not a table / 不是表")
        code = _field(entry, "code", where, str)
        where = f"{source}: disease {i} ({code})"
        cls = _field(entry, "class", where, str)
        if cls not in ("A", "B", "C"):
            raise CatalogueError(f"{where}: field class must be A, B or C / 类别须为 A、B 或 C")
        icd = _field(entry, "icd10", where, list)
        if not icd or not all(isinstance(p, str) and normalize_icd(p) for p in icd):
            raise CatalogueError(f"{where}: field icd10 must list ICD-10 prefixes / icd10 须列出编码前缀")
        until = entry.get("managed_as_a_until")
        if until is not None and not isinstance(until, date):
            try:
                until = date.fromisoformat(str(until))
            except ValueError:
                raise CatalogueError(f"{where}: field managed_as_a_until must be a date YYYY-MM-DD / 日期格式错误") \
                    from None
        out.append(Disease(code=code, name_zh=str(entry.get("name_zh", code)), name_en=str(entry.get("name_en", code)),
                           cls=DiseaseClass(cls), icd10=tuple(dict.fromkeys(normalize_icd(p) for p in icd)),
                           managed_as_a=bool(entry.get("managed_as_a", False)), managed_as_a_until=until))
    codes = [d.code for d in out]
    dup = next((c for c in codes if codes.count(c) > 1), None)
    if dup is not None:
        raise CatalogueError(f"{source}: disease code {dup} appears twice / 病种代码重复")
    return Catalogue(tuple(out))


def report_hours(disease: Disease, day: date, *, class_a_hours: int, other_hours: int) -> int:
    """The hours the law gives to report a diagnosis of ``disease`` made on ``day``."""
    return class_a_hours if disease.urgent_on(day) else other_hours


def deadline_of(disease: Disease, diagnosed_at: datetime, *, class_a_hours: int, other_hours: int) -> datetime:
    """报告时限 / when the report card is due: the diagnosis time plus the hours of its class."""
    return diagnosed_at + timedelta(hours=report_hours(disease, diagnosed_at.date(), class_a_hours=class_a_hours,
                                                       other_hours=other_hours))


def joins_episode(latest: datetime, at: datetime, episode_days: int) -> bool:
    """A diagnosis at ``at`` joins the card whose latest diagnosis was at ``latest`` (``at`` not before it, and at
    most ``episode_days`` days after it; 0: the same day)."""
    if at < latest:
        return False
    if episode_days == 0:
        return at.date() == latest.date()
    return at - latest <= timedelta(days=episode_days)


@dataclass(frozen=True)
class Diagnosis:
    """一次诊断 / one diagnosis of a notifiable disease: who, where, when (and the claim it came from, if any)."""

    person_id: str
    inst_id: str
    disease_code: str
    at: datetime
    source_id: str = ""


@dataclass
class CardDraft:
    """A report card as the episodes make it: the first diagnosis, and how many joined it."""

    person_id: str
    disease_code: str
    inst_id: str
    diagnosed_at: datetime
    latest_at: datetime
    diagnoses: int = 1
    sources: list[str] = field(default_factory=list)


def assign_episodes(diagnoses: Iterable[Diagnosis], episode_days: int) -> list[CardDraft]:
    """The report cards of ``diagnoses``: per person and disease in time order (ties: institution, source), a
    diagnosis joins the open card when :func:`joins_episode`, else opens a new one. Cards come ordered by
    diagnosis time, person, disease."""
    order = sorted(diagnoses, key=lambda d: (d.person_id, d.disease_code, d.at, d.inst_id, d.source_id))
    cards: list[CardDraft] = []
    open_card: dict[tuple[str, str], CardDraft] = {}
    for d in order:
        key = (d.person_id, d.disease_code)
        card = open_card.get(key)
        if card is not None and joins_episode(card.latest_at, d.at, episode_days):
            card.latest_at = d.at
            card.diagnoses += 1
            card.sources.append(d.source_id)
            continue
        card = CardDraft(d.person_id, d.disease_code, d.inst_id, d.at, d.at, 1, [d.source_id])
        open_card[key] = card
        cards.append(card)
    return sorted(cards, key=lambda c: (c.diagnosed_at, c.person_id, c.disease_code))


def timeliness(status: str, deadline: datetime, submitted_at: datetime | None, now: datetime) -> Timeliness:
    """How a card stands against its deadline at ``now``."""
    if status == CardStatus.VOIDED:
        return Timeliness.VOIDED
    if status == CardStatus.SUBMITTED and submitted_at is not None:
        return Timeliness.ON_TIME if submitted_at <= deadline else Timeliness.LATE
    return Timeliness.OVERDUE if now > deadline else Timeliness.PENDING


@dataclass
class InstitutionTally:
    """报告及时性 / an institution's cards by timeliness; ``missed`` are the overdue ones (漏报)."""

    inst_id: str
    cards: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    voided: int = 0

    @property
    def timely_rate(self) -> float | None:
        """On-time share of the cards that are due (on time + late + missed); a display figure, not money."""
        due = self.on_time + self.late + self.missed
        return self.on_time / due if due else None


def tally(cards: Iterable[tuple[str, Timeliness]]) -> list[InstitutionTally]:
    """Per institution, its cards counted by timeliness (``cards``: (inst_id, timeliness) pairs)."""
    out: dict[str, InstitutionTally] = {}
    for inst_id, t in cards:
        row = out.setdefault(inst_id, InstitutionTally(inst_id))
        row.cards += 1
        if t is Timeliness.ON_TIME:
            row.on_time += 1
        elif t is Timeliness.LATE:
            row.late += 1
        elif t is Timeliness.OVERDUE:
            row.missed += 1
        elif t is Timeliness.PENDING:
            row.pending += 1
        else:
            row.voided += 1
    return [out[k] for k in sorted(out)]


@dataclass(frozen=True)
class FoodborneCase:
    """食源性疾病病例 / a kind of food-borne case of the list."""

    code: str
    name_zh: str
    name_en: str
    icd10: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


@dataclass(frozen=True)
class FoodborneList:
    """The food-borne case list and its reporting deadline; :meth:`match` by the longest ICD-10 prefix."""

    cases: tuple[FoodborneCase, ...]
    report_hours: int

    def match(self, diagnosis: str) -> FoodborneCase | None:
        return longest_prefix(diagnosis, ((p, c) for c in self.cases for p in c.icd10))

    def get(self, code: str) -> FoodborneCase | None:
        return next((c for c in self.cases if c.code == code), None)

    def deadline(self, diagnosed_at: datetime) -> datetime:
        return diagnosed_at + timedelta(hours=self.report_hours)


def foodborne_from_toml(text: str, *, source: str = "foodborne.toml") -> FoodborneList:
    """The food-borne case list from its TOML text (``report_hours`` and ``[[case]]`` entries);
    :class:`CatalogueError` names the file, the entry and the field of the first thing wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: not valid TOML: {exc} / 不是有效的 TOML") from None
    hours = doc.get("report_hours")
    if not isinstance(hours, int) or isinstance(hours, bool) or hours < 1:
        raise CatalogueError(f"{source}: report_hours must be a whole number of hours >= 1 / 报告时限须为正整数小时")
    entries = doc.get("case")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{source}: no [[case]] entries / 没有病例条目")
    out: list[FoodborneCase] = []
    for i, entry in enumerate(entries, start=1):
        where = f"{source}: case {i}"
        if not isinstance(entry, dict):
            raise CatalogueError(f"{where}: not a table / 不是表")
        code = _field(entry, "code", where, str)
        icd = _field(entry, "icd10", f"{where} ({code})", list)
        if not icd or not all(isinstance(p, str) and normalize_icd(p) for p in icd):
            raise CatalogueError(f"{where} ({code}): field icd10 must list ICD-10 prefixes / icd10 须列出编码前缀")
        out.append(FoodborneCase(code, str(entry.get("name_zh", code)), str(entry.get("name_en", code)),
                                 tuple(dict.fromkeys(normalize_icd(p) for p in icd))))
    codes = [c.code for c in out]
    dup = next((c for c in codes if codes.count(c) > 1), None)
    if dup is not None:
        raise CatalogueError(f"{source}: case code {dup} appears twice / 病例代码重复")
    return FoodborneList(tuple(out), hours)


# --- Food-borne clusters (食源性聚集性病例) ---


def place_key(place: str | None) -> str:
    """The exposure place as compared (就餐地点): NFKC (full-width letters and digits as half-width), spaces removed,
    case folded; empty for none. ``"Ｘ村 王家 酒席"`` and ``"x村王家酒席"`` are one place."""
    if not place:
        return ""
    return "".join(unicodedata.normalize("NFKC", place).split()).casefold()


@dataclass(frozen=True)
class ClusterCase:
    """A food-borne case as the grouping reads it: its id, the exposure place (already :func:`place_key`), the time
    the window reads (onset when recorded, else the diagnosis) and the diagnosis time."""

    case_id: int
    place: str
    at: datetime
    diagnosed_at: datetime


@dataclass(frozen=True)
class FoodborneCluster:
    """聚集性病例 / cases at one exposure place whose times fall within the window of the first one.

    ``cluster_id`` is the id of its first case (by time, then id); ``formed_at`` the diagnosis that made it a cluster
    (the ``min_cases``-th diagnosis in time order), and ``deadline`` that plus the report hours."""

    cluster_id: int
    place: str
    case_ids: tuple[int, ...]
    first_at: datetime
    last_at: datetime
    formed_at: datetime
    deadline: datetime


def find_clusters(cases: Iterable[ClusterCase], *, min_cases: int, window_hours: int,
                  report_hours: int) -> list[FoodborneCluster]:
    """The clusters of ``cases``: per exposure place, in time order, a case within ``window_hours`` of the open
    group's first case joins it, else opens a new group; a group of at least ``min_cases`` cases is a cluster.
    Cases without a place never group. Each case is in at most one cluster, and the clusters depend on the cases
    only, not on the order they were recorded (a tie in time joins the same group whatever the order). Ordered by
    deadline, then id."""
    if min_cases < 2 or window_hours < 1 or report_hours < 1:
        raise ValueError("min_cases >= 2, window_hours >= 1, report_hours >= 1")
    window = timedelta(hours=window_hours)
    groups: list[list[ClusterCase]] = []
    by_place: dict[str, list[ClusterCase]] = {}
    for c in cases:
        if c.place:
            by_place.setdefault(c.place, []).append(c)
    for place in sorted(by_place):
        open_group: list[ClusterCase] = []
        for c in sorted(by_place[place], key=lambda c: (c.at, c.case_id)):
            if open_group and c.at - open_group[0].at <= window:
                open_group.append(c)
            else:
                open_group = [c]
                groups.append(open_group)
    out: list[FoodborneCluster] = []
    for g in groups:
        if len(g) < min_cases:
            continue
        formed = sorted(c.diagnosed_at for c in g)[min_cases - 1]
        out.append(FoodborneCluster(g[0].case_id, g[0].place, tuple(sorted(c.case_id for c in g)), g[0].at,
                                    g[-1].at, formed, formed + timedelta(hours=report_hours)))
    return sorted(out, key=lambda k: (k.deadline, k.cluster_id))


# --- Surveillance and readiness (监测预警与应急准备, seed 002 十) ---

SITE_KINDS: Mapping[str, str] = {"fever_clinic": "发热门诊 / fever clinic", "sentinel": "哨点医院 / sentinel site"}
"""Where surveillance counts come from: a member's fever clinic (发热门诊) or a sentinel site (监测哨点)."""


@dataclass(frozen=True)
class WeekThreshold:
    """预警阈值 / a site's warning threshold for a syndrome in one week, and how it was found.

    ``basis`` is ``history`` (mean + k SD of the previous weeks, at least ``min_cases``) or ``fixed`` (the policy's
    threshold, when fewer than ``min_history`` weeks are recorded)."""

    threshold: Decimal
    basis: str
    mean: Decimal | None = None
    sd: Decimal | None = None
    weeks: int = 0


def _sqrt(x: Decimal) -> Decimal:
    return x.sqrt() if x > 0 else Decimal(0)


def week_threshold(history: Sequence[int], *, fixed: int, min_cases: int = 5, sd_factor: int = 2,
                   min_history: int = 4) -> WeekThreshold:
    """The warning threshold (预警阈值) of a week from the counts of the previous weeks ``history`` (at most the last
    window; weeks with no record are not in it): mean + ``sd_factor`` sample standard deviations (n - 1), at least
    ``min_cases``, to one decimal upwards; ``fixed`` when fewer than ``min_history`` weeks are known."""
    n = len(history)
    if n < min_history:
        return WeekThreshold(Decimal(fixed), "fixed", weeks=n)
    mean = Decimal(sum(history)) / n
    var = sum((Decimal(h) - mean) ** 2 for h in history) / Decimal(n - 1)
    sd = _sqrt(var)
    value = max(Decimal(min_cases), mean + sd_factor * sd).quantize(Decimal("0.1"), rounding=ROUND_CEILING)
    return WeekThreshold(value, "history", mean.quantize(Decimal("0.1")), sd.quantize(Decimal("0.1")), n)


def is_warning(cases: int, threshold: WeekThreshold) -> bool:
    """预警 / the week's count reaches its threshold."""
    return Decimal(cases) >= threshold.threshold


def week_start(day: date) -> date:
    """The Monday of ``day``'s week (a surveillance week runs Monday to Sunday)."""
    return day - timedelta(days=day.weekday())


def stock_flags(quantity: int, minimum: int, expires_on: date | None, today: date, warn_days: int) -> tuple[str, ...]:
    """The flags of an emergency-stockpile line (应急物资): ``below_minimum`` (低于储备下限), ``expired`` (已过期) or
    ``expiring`` (近效期: within ``warn_days``)."""
    flags: list[str] = []
    if quantity < minimum:
        flags.append("below_minimum")
    if expires_on is not None:
        if expires_on < today:
            flags.append("expired")
        elif (expires_on - today).days <= warn_days:
            flags.append("expiring")
    return tuple(flags)


STOCK_FLAG_LABELS: Mapping[str, str] = {"below_minimum": "低于储备下限 / below minimum", "expired": "已过期 / expired",
                                        "expiring": "近效期 / expiring soon"}
