"""Designated care (定点诊疗): the rules of a choice and of the designation derived from choices (rules.md A).

A choice (定点选择) names a consortium, a township-tier institution of it and a village-tier institution under that
township institution; it is valid inside the switch window for its year, for a person insured in the consortium's
county. :func:`validate_choice` returns ``None`` for a valid choice or a :class:`Refusal` with a stable code, a Chinese
and an English message and the fields involved. Messages come from :data:`MESSAGES` templates, which the batch engine
renders column-wise with the same text (``yigongti.enrollment.engine``).

The designation (定点) for year Y follows the precedence of :data:`PRECEDENCE`: the person's own last valid choice,
else last year's designation carried over, else the designation of the household member with the most recent valid
choice, else the nearest village-tier institution of the insured county (see :func:`pick_designation`).
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from yigongti.registry.domain import Registry, Tier

__all__ = [
    "CHOICE_FIELDS",
    "MESSAGES",
    "PRECEDENCE",
    "Choice",
    "Designation",
    "Refusal",
    "RefusalCode",
    "Resident",
    "Source",
    "format_datetime",
    "household_choice",
    "in_window",
    "last_valid_choice",
    "nesting_refusal",
    "pick_designation",
    "reference_designations",
    "refusal",
    "render",
    "template_fields",
    "validate_choice",
]


class Source(StrEnum):
    """Where a designation comes from (``source`` column of ``designations``)."""

    CHOICE = "choice"  # the person's own last valid choice 本人选择
    CARRIED = "carried"  # last year's designation carried over 上年延续
    HOUSEHOLD = "household"  # a household member's most recent valid choice 家庭成员选择
    NEAREST = "nearest"  # nearest village-tier institution of the insured county 就近默认


PRECEDENCE: tuple[Source, ...] = (Source.CHOICE, Source.CARRIED, Source.HOUSEHOLD, Source.NEAREST)
"""docs/en/rules.md A4: the first source that gives a designation wins."""


class RefusalCode(StrEnum):
    """Stable codes of a refused choice (拒绝原因), in the order the rules are checked."""

    OUTSIDE_WINDOW = "outside_window"
    MISSING_FIELD = "missing_field"
    UNKNOWN_CONSORTIUM = "unknown_consortium"
    CONSORTIUM_NOT_IN_COUNTY = "consortium_not_in_county"
    UNKNOWN_INSTITUTION = "unknown_institution"
    TOWNSHIP_WRONG_TIER = "township_wrong_tier"
    TOWNSHIP_NOT_MEMBER = "township_not_member"
    VILLAGE_WRONG_TIER = "village_wrong_tier"
    VILLAGE_NOT_UNDER_TOWNSHIP = "village_not_under_township"


CHOICE_FIELDS = ("consortium_id", "township_id", "village_id")

# code -> (Chinese template, English template, fields involved). Placeholders are filled with text.
MESSAGES: Mapping[RefusalCode, tuple[str, str, tuple[str, ...]]] = {
    RefusalCode.OUTSIDE_WINDOW: (
        "选择时间 {chosen_at} 不在 {year} 年度定点选择窗口（{window_start} 至 {window_end}，含首尾两日）内",
        ("chosen at {chosen_at}, outside the switch window for {year} ({window_start} to {window_end}, both days "
        "included)"),
        ("chosen_at", "year")),
    RefusalCode.MISSING_FIELD: (
        "未填写 {field}：定点选择须同时选定医共体、乡镇级机构和村级机构",
        "{field} is empty: a choice names a consortium, a township-tier and a village-tier institution",
        ("consortium_id", "township_id", "village_id")),
    RefusalCode.UNKNOWN_CONSORTIUM: (
        "医共体 {consortium_id} 不存在",
        "consortium {consortium_id} does not exist",
        ("consortium_id",)),
    RefusalCode.CONSORTIUM_NOT_IN_COUNTY: (
        "医共体 {consortium_id} 属于区县 {consortium_county}，不属于参保人的参保区县 {person_county}",
        ("consortium {consortium_id} belongs to county {consortium_county}, not to the person's insured county "
        "{person_county}"),
        ("consortium_id",)),
    RefusalCode.UNKNOWN_INSTITUTION: (
        "机构 {inst_id}（{field}）不存在",
        "institution {inst_id} ({field}) does not exist",
        ("township_id", "village_id")),
    RefusalCode.TOWNSHIP_WRONG_TIER: (
        "{township_id} 是 {township_tier} 级机构，不是乡镇级（乡镇卫生院/社区卫生服务中心）机构",
        "{township_id} is of tier {township_tier}, not a township-tier institution (township or community centre)",
        ("township_id",)),
    RefusalCode.TOWNSHIP_NOT_MEMBER: (
        "乡镇级机构 {township_id} 属于医共体 {township_consortium}，不属于所选医共体 {consortium_id}",
        "the township institution {township_id} belongs to consortium {township_consortium}, not {consortium_id}",
        ("consortium_id", "township_id")),
    RefusalCode.VILLAGE_WRONG_TIER: (
        "{village_id} 是 {village_tier} 级机构，不是村级（村卫生室/社区卫生服务站）机构",
        "{village_id} is of tier {village_tier}, not a village-tier institution (village clinic or community station)",
        ("village_id",)),
    RefusalCode.VILLAGE_NOT_UNDER_TOWNSHIP: (
        "村级机构 {village_id} 隶属乡镇级机构 {village_parent}，不隶属所选的 {township_id}",
        "the village clinic {village_id} belongs to township centre {village_parent}, not {township_id}",
        ("township_id", "village_id")),
}


def template_fields(template: str) -> list[str]:
    """The placeholder names of a message template, in order."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def render(template: str, params: Mapping[str, object]) -> str:
    """Fill a template; a missing or empty value is shown as an empty string."""
    return template.format_map({k: ("" if params.get(k) is None else str(params.get(k)))
                                for k in template_fields(template)})


@dataclass(frozen=True)
class Refusal:
    """Why a choice is refused: a stable ``code``, messages in Chinese and English, the fields involved."""

    code: RefusalCode
    message_zh: str
    message_en: str
    fields: tuple[str, ...]

    @property
    def message(self) -> str:
        """``中文 / English``."""
        return f"{self.message_zh} / {self.message_en}"


def refusal(code: RefusalCode, **params: object) -> Refusal:
    """Build the refusal for ``code`` with its template's placeholders filled from ``params``."""
    zh, en, fields = MESSAGES[code]
    return Refusal(code, render(zh, params), render(en, params), fields)


@dataclass(frozen=True)
class Choice:
    """A choice (定点选择) of designated institutions for ``year``, made at ``chosen_at`` (China time)."""

    person_id: str
    year: int
    consortium_id: str | None
    township_id: str | None
    village_id: str | None
    chosen_at: datetime


@dataclass(frozen=True)
class Designation:
    """The designated consortium, township-tier and village-tier institutions of a person for a year (定点)."""

    person_id: str
    year: int
    consortium_id: str
    township_id: str
    village_id: str
    source: Source


def format_datetime(value: datetime) -> str:
    """ISO form used in messages and files: ``YYYY-MM-DDTHH:MM:SS``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def in_window(chosen_at: datetime, window: tuple[date, date]) -> bool:
    """Inside the switch window, both days included."""
    return window[0] <= chosen_at.date() <= window[1]


def nesting_refusal(consortium_id: str | None, township_id: str | None, village_id: str | None, *,
                    registry: Registry, person_county: str) -> Refusal | None:
    """The first broken rule of rules.md A1-A2 for a (consortium, township, village) triple, or None."""
    values = {"consortium_id": consortium_id, "township_id": township_id, "village_id": village_id}
    for name in CHOICE_FIELDS:
        if not values[name]:
            return refusal(RefusalCode.MISSING_FIELD, field=name)
    assert consortium_id and township_id and village_id
    cons = registry.consortia.get(consortium_id)
    if cons is None:
        return refusal(RefusalCode.UNKNOWN_CONSORTIUM, consortium_id=consortium_id)
    if cons.county_code != person_county:
        return refusal(RefusalCode.CONSORTIUM_NOT_IN_COUNTY, consortium_id=consortium_id,
                       consortium_county=cons.county_code, person_county=person_county)
    town = registry.institutions.get(township_id)
    if town is None:
        return refusal(RefusalCode.UNKNOWN_INSTITUTION, inst_id=township_id, field="township_id")
    village = registry.institutions.get(village_id)
    if village is None:
        return refusal(RefusalCode.UNKNOWN_INSTITUTION, inst_id=village_id, field="village_id")
    if town.tier is not Tier.TOWNSHIP:
        return refusal(RefusalCode.TOWNSHIP_WRONG_TIER, township_id=township_id, township_tier=town.tier.value)
    if town.consortium_id != consortium_id:
        return refusal(RefusalCode.TOWNSHIP_NOT_MEMBER, township_id=township_id,
                       township_consortium=town.consortium_id, consortium_id=consortium_id)
    if village.tier is not Tier.VILLAGE:
        return refusal(RefusalCode.VILLAGE_WRONG_TIER, village_id=village_id, village_tier=village.tier.value)
    if village.parent_id != township_id:
        return refusal(RefusalCode.VILLAGE_NOT_UNDER_TOWNSHIP, village_id=village_id,
                       village_parent=village.parent_id, township_id=township_id)
    return None


def validate_choice(choice: Choice, *, registry: Registry, person_county: str,
                    window: tuple[date, date]) -> Refusal | None:
    """None when ``choice`` is valid (docs/en/rules.md A2), else the first broken rule as a :class:`Refusal`.

    ``window`` is ``policy.enrollment.window(choice.year)``; ``person_county`` is the person's insured county code.
    Rules are checked in the order of :class:`RefusalCode`: window, completeness, consortium, county, institutions,
    township tier and membership, village tier and parent.
    """
    if not in_window(choice.chosen_at, window):
        return refusal(RefusalCode.OUTSIDE_WINDOW, chosen_at=format_datetime(choice.chosen_at), year=choice.year,
                       window_start=window[0].isoformat(), window_end=window[1].isoformat())
    return nesting_refusal(choice.consortium_id, choice.township_id, choice.village_id,
                           registry=registry, person_county=person_county)


def _order_key(indexed: tuple[int, Choice]) -> tuple[datetime, int]:
    return indexed[1].chosen_at, indexed[0]


def last_valid_choice(choices: Sequence[Choice], valid: Sequence[bool]) -> Choice | None:
    """The latest valid choice (by ``chosen_at``; equal times: the later one in the list), or None."""
    kept = [(n, c) for n, (c, ok) in enumerate(zip(choices, valid, strict=True)) if ok]
    return max(kept, key=_order_key)[1] if kept else None


def household_choice(members_last_valid: Iterable[Choice]) -> Choice | None:
    """Of household members' last valid choices, the most recent (equal times: the lowest person_id)."""
    best: Choice | None = None
    for c in members_last_valid:
        if best is None or c.chosen_at > best.chosen_at or (
                c.chosen_at == best.chosen_at and c.person_id < best.person_id):
            best = c
    return best


def pick_designation(person_id: str, year: int, *, choice: Choice | None, carried: Designation | None,
                     household: Choice | None, nearest: tuple[str, str, str] | None) -> Designation | None:
    """Apply the precedence of rules.md A4 to what is known about one person (each argument may be None).

    ``choice`` is the person's own last valid choice; ``carried`` last year's (still valid) designation;
    ``household`` the household member's most recent valid choice; ``nearest`` the (consortium, township, village)
    of the nearest village-tier institution of the insured county.
    """
    if choice is not None:
        return _from_choice(person_id, year, choice, Source.CHOICE)
    if carried is not None:
        return Designation(person_id, year, carried.consortium_id, carried.township_id, carried.village_id,
                           Source.CARRIED)
    if household is not None:
        return _from_choice(person_id, year, household, Source.HOUSEHOLD)
    if nearest is not None:
        return Designation(person_id, year, *nearest, Source.NEAREST)
    return None


def _from_choice(person_id: str, year: int, c: Choice, source: Source) -> Designation:
    assert c.consortium_id and c.township_id and c.village_id
    return Designation(person_id, year, c.consortium_id, c.township_id, c.village_id, source)



@dataclass(frozen=True)
class Resident:
    """An insured person as far as enrollment goes: insured county, household and home coordinates (参保人)."""

    person_id: str
    household_id: str
    county_code: str
    lon: float
    lat: float


def _central_angle(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    lo1, la1, lo2, la2 = (math.radians(x) for x in (lon1, lat1, lon2, lat2))
    a = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * math.asin(math.sqrt(min(1.0, max(0.0, a))))


def reference_designations(residents: Sequence[Resident], choices: Iterable[Choice],
                           previous: Iterable[Designation], *, registry: Registry, year: int,
                           window: tuple[date, date]) -> dict[str, Designation]:
    """rules.md A as a plain loop over persons: the reference the batch engine is tested and benchmarked against.

    ``choices``: all choices (other years are ignored); ``previous``: designations (only ``year - 1`` is used, and
    only while still valid). Persons of a county without village-tier institutions get no designation.
    """
    county = {r.person_id: r.county_code for r in residents}
    own: dict[str, list[tuple[Choice, bool]]] = {}
    for c in choices:
        if c.year == year and c.person_id in county:
            ok = validate_choice(c, registry=registry, person_county=county[c.person_id], window=window) is None
            own.setdefault(c.person_id, []).append((c, ok))
    last = {pid: last_valid_choice([c for c, _ in cs], [ok for _, ok in cs]) for pid, cs in own.items()}
    carried = {d.person_id: d for d in previous if d.year == year - 1 and d.person_id in county and nesting_refusal(
        d.consortium_id, d.township_id, d.village_id, registry=registry, person_county=county[d.person_id]) is None}
    members: dict[str, list[str]] = {}
    for r in residents:
        members.setdefault(r.household_id, []).append(r.person_id)
    villages = sorted((i for i in registry.institutions.values() if i.tier is Tier.VILLAGE), key=lambda i: i.inst_id)
    out: dict[str, Designation] = {}
    for r in residents:
        hh = household_choice(mc for m in members[r.household_id] if (mc := last.get(m)) is not None
                              and registry.consortia[mc.consortium_id or ""].county_code == r.county_code)
        near = None
        best = math.inf
        for v in villages:
            if v.county_code == r.county_code and (angle := _central_angle(r.lon, r.lat, v.lon, v.lat)) < best:
                best, near = angle, v
        triple = None
        if near is not None and near.parent_id:
            triple = (registry.institutions[near.parent_id].consortium_id or "", near.parent_id, near.inst_id)
        des = pick_designation(r.person_id, year, choice=last.get(r.person_id), carried=carried.get(r.person_id),
                               household=hh, nearest=triple)
        if des is not None:
            out[r.person_id] = des
    return out
