"""The demo registry (示例机构): one Pingwu-like county's institutions and consortia, as columnar arrays.

Per county: 6 county-tier units (people's hospital 人民医院 level 2 general, TCM hospital 中医医院 level 2, a second
general hospital, maternal & child health centre 妇幼保健院, CDC 疾控中心, infectious-disease hospital 传染病医院),
20 township-tier institutions (2 urban community health centres in the county seat, 4 regional sub-centres
片区医疗分中心 and 14 township health centres) and 216 village-tier institutions (16 urban community stations,
200 village clinics). With two consortia, one is led by the people's hospital and one by the TCM hospital, and the
townships are split between them geographically (west / east of the seat; one urban centre each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from yigongti.demo.places import OUTSIDE_HOSPITALS, PINGWU_TOWNSHIPS, SUB_CENTRES, County

__all__ = ["CountyRegistry", "build_county", "consortia_table", "institutions_table", "outside_table"]

URBAN_CENTRES = 2
STATIONS_PER_URBAN_CENTRE = 8
RURAL_VILLAGES = 200
# (suffix, name, kind, level, consortium when split: 0 people's hospital's, 1 TCM hospital's)
_COUNTY_UNITS = (
    ("C01", "人民医院", "general", 2, 0),
    ("C02", "中医医院", "tcm", 2, 1),
    ("C03", "第二人民医院", "general", 2, 0),
    ("C04", "妇幼保健院", "mch", 2, 1),
    ("C05", "疾病预防控制中心", "cdc", 2, 0),
    ("C06", "传染病医院", "infectious", 1, 1),
)
_LEADS = ("C01", "C02")
_CONSORTIUM_NAMES = ("人民医院医共体", "中医医院医共体")


@dataclass(frozen=True)
class CountyRegistry:
    """One county's consortium members in inst_id order, with indices for the generator."""

    county: County
    consortium_ids: tuple[str, ...]
    inst_id: NDArray[np.str_]
    name: NDArray[np.str_]
    tier: NDArray[np.str_]
    kind: NDArray[np.str_]
    level: NDArray[np.int64]
    consortium: NDArray[np.int64]  # index into consortium_ids
    parent: NDArray[np.int64]  # index of the parent township institution, -1 if none
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    lead: NDArray[np.int64]  # per consortium: index of its lead hospital
    villages: NDArray[np.int64]  # indices of village-tier institutions, in id order
    village_weight: NDArray[np.float64]  # share of the county's households living under each village
    village_urban: NDArray[np.bool_]

    @property
    def n_consortia(self) -> int:
        return len(self.consortium_ids)

    def members(self, consortium: int, tier: str) -> NDArray[np.int64]:
        """Indices of the consortium's institutions of one tier, in id order."""
        return np.flatnonzero((self.consortium == consortium) & (self.tier == tier))


def _township_names(county: County) -> list[str]:
    if county.code == "510727":
        return [f"{county.name}{n}" for n in PINGWU_TOWNSHIPS]
    urban = ["城关社区卫生服务中心", "城南社区卫生服务中心"]
    subs = [f"第{i + 1}片区中心卫生院" for i in range(SUB_CENTRES)]
    others = [f"第{i + 1}乡镇卫生院" for i in range(len(PINGWU_TOWNSHIPS) - URBAN_CENTRES - SUB_CENTRES)]
    return [f"{county.name}{n}" for n in urban + subs + others]


def _rural_positions(rng: np.random.Generator, county: County, n: int) -> NDArray[np.float64]:
    """Township seats scattered over an ellipse about 110 x 90 km around the county seat, away from it."""
    out = np.empty((n, 2))
    filled = 0
    while filled < n:
        r = np.sqrt(rng.uniform(0.08, 1.0, size=4 * n))
        a = rng.uniform(0.0, 2 * np.pi, size=4 * n)
        pts = np.column_stack((county.lon + 0.6 * r * np.cos(a), county.lat + 0.4 * r * np.sin(a)))
        take = min(n - filled, len(pts))
        out[filled:filled + take] = pts[:take]
        filled += take
    return out


_Row = tuple[str, str, str, str, int, int, str, float,
             float]  # id, name, tier, kind, level, consortium, parent, lon, lat


def _county_rows(county: County, rng: np.random.Generator, n_consortia: int) -> list[_Row]:
    """The county units, near the seat."""
    jitter = rng.normal(0.0, 0.004, size=(len(_COUNTY_UNITS), 2))
    return [(f"{county.code}-{suffix}", f"{county.name}{name}", "county", kind, level,
             cons if n_consortia == 2 else 0, "", county.lon + dx, county.lat + dy)
            for (suffix, name, kind, level, cons), (dx, dy) in zip(_COUNTY_UNITS, jitter, strict=True)]


def _township_rows(county: County, rng: np.random.Generator, n_consortia: int) -> list[_Row]:
    """Two urban centres at the seat, the rest scattered; split: one urban centre each, rural west / east."""
    names = _township_names(county)
    n_rural = len(names) - URBAN_CENTRES
    urban_pos = np.array([[county.lon - 0.006, county.lat + 0.004], [county.lon + 0.005, county.lat - 0.006]])
    rural_pos = _rural_positions(rng, county, n_rural)
    pos = np.vstack((urban_pos, rural_pos))
    west = np.zeros(len(names), dtype=bool)
    west[0] = True
    west[URBAN_CENTRES + np.argsort(rural_pos[:, 0], kind="stable")[: n_rural // 2]] = True
    return [(f"{county.code}-T{i + 1:02d}", name, "township",
             "community_centre" if i < URBAN_CENTRES else "township_centre", 1,
             (0 if west[i] else 1) if n_consortia == 2 else 0, "", float(pos[i, 0]), float(pos[i, 1]))
            for i, name in enumerate(names)]


def _villages_per_township(n_towns: int) -> list[int]:
    """8 stations per urban centre; the rural villages, 14 under each sub-centre and the rest spread evenly."""
    n_other = n_towns - URBAN_CENTRES - SUB_CENTRES
    sub_villages = 14
    base, extra = divmod(RURAL_VILLAGES - SUB_CENTRES * sub_villages, n_other)
    return ([STATIONS_PER_URBAN_CENTRE] * URBAN_CENTRES + [sub_villages] * SUB_CENTRES
            + [base + (1 if i < extra else 0) for i in range(n_other)])


def _village_rows(county: County, towns: list[_Row], rng: np.random.Generator, urban_share: float
                  ) -> tuple[list[_Row], list[float], list[bool]]:
    """Village-tier rows around their township, with the share of households living under each one."""
    per_town = _villages_per_township(len(towns))
    n_urban = sum(per_town[:URBAN_CENTRES])
    rural_w = rng.lognormal(0.0, 0.4, size=sum(per_town[URBAN_CENTRES:]))
    rw = iter((rural_w / rural_w.sum() * (1.0 - urban_share)).tolist())
    rows: list[_Row] = []
    weights: list[float] = []
    urban_flags: list[bool] = []
    for i, (count, town) in enumerate(zip(per_town, towns, strict=True)):
        urban = i < URBAN_CENTRES
        offsets = rng.normal(0.0, 0.012 if urban else 0.05, size=(count, 2))
        short = town[1].removeprefix(county.name)[:2] if county.code == "510727" else f"第{i + 1}乡"
        for v in range(count):
            name = f"{county.name}{short}第{v + 1}社区卫生服务站" if urban else f"{county.name}{short}{v + 1}村卫生室"
            rows.append((f"{town[0]}-V{v + 1:02d}", name, "village", "community_station" if urban else "village_clinic",
                         0, town[5], town[0], float(town[7] + offsets[v, 0]), float(town[8] + offsets[v, 1])))
            weights.append(urban_share / n_urban if urban else next(rw))
            urban_flags.append(urban)
    return rows, weights, urban_flags


def build_county(county: County, *, n_consortia: int, rng: np.random.Generator, urban_share: float) -> CountyRegistry:
    """The institutions and consortia of one demo county."""
    if n_consortia not in (1, 2):
        raise ValueError("consortia must be 1 or 2 / 医共体数量应为1或2")
    rows = _county_rows(county, rng, n_consortia)
    towns = _township_rows(county, rng, n_consortia)
    villages, weights, urban = _village_rows(county, towns, rng, urban_share)
    rows = sorted(rows + towns + villages, key=lambda r: r[0])
    ids = [r[0] for r in rows]
    index = {inst: n for n, inst in enumerate(ids)}
    tier = np.array([r[2] for r in rows])
    # village rows were made in id order, so their weights line up with the village tier in id order
    return CountyRegistry(
        county=county,
        consortium_ids=tuple(f"{county.code}-G{c + 1}" for c in range(n_consortia)),
        inst_id=np.array(ids),
        name=np.array([r[1] for r in rows]),
        tier=tier,
        kind=np.array([r[3] for r in rows]),
        level=np.array([r[4] for r in rows], dtype=np.int64),
        consortium=np.array([r[5] for r in rows], dtype=np.int64),
        parent=np.array([index[r[6]] if r[6] else -1 for r in rows], dtype=np.int64),
        lon=np.round(np.array([r[7] for r in rows]), 5),
        lat=np.round(np.array([r[8] for r in rows]), 5),
        lead=np.array([index[f"{county.code}-{_LEADS[c]}"] for c in range(n_consortia)], dtype=np.int64),
        villages=np.flatnonzero(tier == "village"),
        village_weight=np.array(weights) / np.sum(weights),
        village_urban=np.array(urban),
    )


def institutions_table(registries: list[CountyRegistry]) -> pa.Table:
    """The ``institutions`` table: every county's members, then the hospitals outside every consortium."""
    cols: dict[str, list[object]] = {k: [] for k in ("inst_id", "name", "tier", "level", "kind", "consortium_id",
                                                     "parent_id", "county_code", "lon", "lat")}
    for reg in registries:
        cons = np.array(reg.consortium_ids)[reg.consortium]
        parent = np.where(reg.parent >= 0, reg.inst_id[np.maximum(reg.parent, 0)], "")
        cols["inst_id"] += reg.inst_id.tolist()
        cols["name"] += reg.name.tolist()
        cols["tier"] += reg.tier.tolist()
        cols["level"] += reg.level.tolist()
        cols["kind"] += reg.kind.tolist()
        cols["consortium_id"] += cons.tolist()
        cols["parent_id"] += [p or None for p in parent.tolist()]
        cols["county_code"] += [reg.county.code] * len(reg.inst_id)
        cols["lon"] += reg.lon.tolist()
        cols["lat"] += reg.lat.tolist()
    for h in OUTSIDE_HOSPITALS:
        for key, value in (("inst_id", h.inst_id), ("name", h.name), ("tier", "outside"), ("level", h.level),
                           ("kind", h.kind), ("consortium_id", None), ("parent_id", None),
                           ("county_code", h.county_code), ("lon", h.lon), ("lat", h.lat)):
            cols[key].append(value)
    return pa.table({
        "inst_id": pa.array(cols["inst_id"], pa.string()), "name": pa.array(cols["name"], pa.string()),
        "tier": pa.array(cols["tier"], pa.string()), "level": pa.array(cols["level"], pa.int64()),
        "kind": pa.array(cols["kind"], pa.string()), "consortium_id": pa.array(cols["consortium_id"], pa.string()),
        "parent_id": pa.array(cols["parent_id"], pa.string()), "county_code": pa.array(cols["county_code"],
                                                                                       pa.string()),
        "lon": pa.array(cols["lon"], pa.float64()), "lat": pa.array(cols["lat"], pa.float64()),
    })


def outside_table() -> tuple[NDArray[np.str_], NDArray[np.int64]]:
    """Ids and levels of the hospitals outside every consortium."""
    return (np.array([h.inst_id for h in OUTSIDE_HOSPITALS]),
            np.array([h.level for h in OUTSIDE_HOSPITALS], dtype=np.int64))


def consortia_table(registries: list[CountyRegistry]) -> pa.Table:
    """The ``consortia`` table."""
    ids: list[str] = []
    names: list[str] = []
    codes: list[str] = []
    leads: list[str] = []
    for reg in registries:
        for c, cid in enumerate(reg.consortium_ids):
            ids.append(cid)
            lead = int(reg.lead[c])
            names.append(f"{reg.county.name}{_CONSORTIUM_NAMES[c] if reg.n_consortia == 2 else '医共体'}")
            codes.append(reg.county.code)
            leads.append(str(reg.inst_id[lead]))
    return pa.table({"consortium_id": pa.array(ids, pa.string()), "name": pa.array(names, pa.string()),
                     "county_code": pa.array(codes, pa.string()), "lead_inst_id": pa.array(leads, pa.string())})
