"""The registry (机构登记): consortia (医共体) and institutions in tiers, with the rules of docs/en/rules.md §2.

Tiers: county 县级, township 乡镇/社区卫生服务中心, village 村卫生室/社区卫生服务站, and hospitals outside every
consortium (医共体外医院, free choice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from yigongti.core.codes import Tier

__all__ = ["CHINA_BOX", "Consortium", "Institution", "Registry", "RegistryIssue", "Tier", "registry_issues"]

# Longitude and latitude bounds of China (with a small margin).
CHINA_BOX = (73.0, 135.5, 3.0, 54.0)


LEAD_KINDS = ("general", "tcm")


@dataclass(frozen=True)
class Institution:
    """A medical institution (医疗机构): a consortium member or a hospital outside every consortium."""

    inst_id: str
    name: str
    tier: Tier
    level: int
    kind: str
    consortium_id: str | None
    parent_id: str | None
    county_code: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Consortium:
    """A county medical community (县域医共体) led by a hospital (牵头医院)."""

    consortium_id: str
    name: str
    county_code: str
    lead_inst_id: str


@dataclass(frozen=True)
class RegistryIssue:
    """A broken registry rule: which table, which position (0-based) in it, which field."""

    table: str
    index: int
    column: str
    message: str


@dataclass(frozen=True)
class Registry:
    institutions: dict[str, Institution]
    consortia: dict[str, Consortium]

    @classmethod
    def of(cls, institutions: Iterable[Institution], consortia: Iterable[Consortium]) -> Registry:
        return cls({i.inst_id: i for i in institutions}, {c.consortium_id: c for c in consortia})

    def members(self, consortium_id: str, tier: Tier | None = None) -> list[Institution]:
        return [i for i in self.institutions.values()
                if i.consortium_id == consortium_id and (tier is None or i.tier is tier)]


def registry_issues(institutions: Sequence[Institution], consortia: Sequence[Consortium]) -> list[RegistryIssue]:
    """Every broken rule of rules.md §2 (ids unique; a lead is level >= 2, general or TCM, of its own consortium;
    a village's parent is a township-tier institution of the same consortium; outside hospitals belong to no consortium;
    members do; coordinates inside China; a member's county is the consortium's county)."""
    out: list[RegistryIssue] = []
    inst_by_id: dict[str, Institution] = {}
    for n, inst in enumerate(institutions):
        if inst.inst_id in inst_by_id:
            out.append(RegistryIssue("institutions", n, "inst_id", f"duplicate inst_id {inst.inst_id} / 机构编码重复"))
        inst_by_id.setdefault(inst.inst_id, inst)
    cons_by_id: dict[str, Consortium] = {}
    for n, c in enumerate(consortia):
        if c.consortium_id in cons_by_id:
            out.append(RegistryIssue("consortia", n, "consortium_id",
                                     f"duplicate consortium_id {c.consortium_id} / 医共体编码重复"))
        cons_by_id.setdefault(c.consortium_id, c)

    lon0, lon1, lat0, lat1 = CHINA_BOX
    for n, inst in enumerate(institutions):
        def issue(column: str, message: str, n: int = n) -> None:
            out.append(RegistryIssue("institutions", n, column, message))

        if not (lon0 <= inst.lon <= lon1):
            issue("lon", f"longitude {inst.lon} is outside China ({lon0}..{lon1}) / 经度超出中国范围")
        if not (lat0 <= inst.lat <= lat1):
            issue("lat", f"latitude {inst.lat} is outside China ({lat0}..{lat1}) / 纬度超出中国范围")
        if inst.tier is Tier.OUTSIDE:
            if inst.consortium_id:
                issue("consortium_id", "a hospital outside every consortium must have no consortium_id"
                                       " / 医共体外医院不应填写医共体")
            continue
        if not inst.consortium_id:
            issue("consortium_id",
                  f"a {inst.tier.value}-tier institution must belong to a consortium / 成员单位须属于医共体")
        elif inst.consortium_id not in cons_by_id:
            issue("consortium_id", f"unknown consortium {inst.consortium_id} / 医共体不存在")
        elif cons_by_id[inst.consortium_id].county_code != inst.county_code:
            issue("county_code", f"county {inst.county_code} differs from its consortium's county "
                                 f"{cons_by_id[inst.consortium_id].county_code} / 与所属医共体的区县不一致")
        if inst.tier is Tier.VILLAGE:
            parent = inst_by_id.get(inst.parent_id or "")
            if not inst.parent_id:
                issue("parent_id", "a village-tier institution needs its township institution as parent_id"
                                   " / 村级机构须填写上级乡镇机构")
            elif parent is None:
                issue("parent_id", f"unknown parent institution {inst.parent_id} / 上级机构不存在")
            elif parent.tier is not Tier.TOWNSHIP:
                issue("parent_id", f"parent {parent.inst_id} is {parent.tier.value}-tier, must be township-tier"
                                   " / 上级机构须为乡镇级")
            elif parent.consortium_id != inst.consortium_id:
                issue("parent_id", f"parent {parent.inst_id} belongs to consortium {parent.consortium_id}, "
                                   f"not {inst.consortium_id} / 上级机构不在同一医共体")
        elif inst.parent_id:
            issue("parent_id", f"only village-tier institutions have a parent_id ({inst.tier.value}-tier here)"
                               " / 仅村级机构填写上级机构")

    for n, c in enumerate(consortia):
        lead = inst_by_id.get(c.lead_inst_id)
        if lead is None:
            out.append(RegistryIssue("consortia", n, "lead_inst_id", f"unknown lead institution {c.lead_inst_id}"
                                                                     " / 牵头医院不存在"))
            continue
        problems = []
        if lead.consortium_id != c.consortium_id:
            problems.append(f"belongs to {lead.consortium_id or 'no consortium'}")
        if lead.tier is not Tier.COUNTY:
            problems.append(f"is {lead.tier.value}-tier, not county-tier")
        if lead.level < 2:
            problems.append(f"is level {lead.level}, a lead hospital must be secondary or higher (二级及以上)")
        if lead.kind not in LEAD_KINDS:
            problems.append(f"is of kind {lead.kind}, a lead hospital must be general or tcm (综合医院或中医医院)")
        for p in problems:
            out.append(RegistryIssue("consortia", n, "lead_inst_id", f"lead institution {lead.inst_id} {p}"
                                                                     " / 牵头医院不符合条件"))
    return out
