"""Use case: generate a demo county (生成示例县) as a data folder in the format of data-contract.md.

``generate_demo(out, persons=..., seed=..., consortia=2, counties=1, year=2026)`` writes institutions, consortia,
persons, choices (Q4 of the year before), designations (of the year before, for carry-over) and claims (the year,
plus the whole year before: its last weeks drawn with the year, the rest after it, ``last_year=False`` leaves that
out); no ``policy.toml`` (the defaults of docs/en/rules.md apply).
The same arguments give byte-identical files. Persons are generated in chunks of whole households, so memory stays
bounded whatever the size; ``fmt="auto"`` writes CSV below 1,000,000 persons and Parquet folders from there on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from yigongti.demo.calibration import DEFAULT_CALIBRATION, Calibration
from yigongti.demo.choices import make_enrollment
from yigongti.demo.claims import ClaimStats, draw_year_claims, make_previous_claims
from yigongti.demo.geography import build_county, consortia_table, institutions_table, outside_table
from yigongti.demo.identifiers import IdNumberSerials
from yigongti.demo.places import counties as demo_counties
from yigongti.demo.population import make_population
from yigongti.demo.writer import StagedFolder, TableSink

__all__ = [
    "CHUNK_PERSONS",
    "DEFAULT_SEED",
    "DEFAULT_YEAR",
    "PARQUET_FROM",
    "PINGWU_PERSONS",
    "Calibration",
    "ClaimStats",
    "DemoSummary",
    "generate_demo",
    "resolve_format",
]

PINGWU_PERSONS = 174_000  # registered population of Pingwu (docs/en/rules.md §8), per county
PARQUET_FROM = 1_000_000  # fmt="auto": CSV below this many persons, Parquet folders from here on
CHUNK_PERSONS = 50_000  # persons per generated chunk (fixed: the output does not depend on the format)
DEFAULT_YEAR = 2026
DEFAULT_SEED = 1
TABLE_NAMES = ("institutions", "consortia", "persons", "choices", "designations", "claims")


@dataclass(frozen=True)
class DemoSummary:
    """What was written, with the figures to compare with docs/en/rules.md §9."""

    out: Path
    fmt: str
    year: int
    seed: int
    counties: int
    consortia: int
    institutions: int
    households: int
    persons: int
    choices: int
    designations: int
    claims: int
    stats: ClaimStats = field(default_factory=ClaimStats)
    last_year_claims: int = 0  # of the claims: those of the year before, before the lead-in weeks

    @property
    def visits_per_person(self) -> float:
        return self.stats.visits / self.persons if self.persons else 0.0

    @property
    def admissions_per_100(self) -> float:
        return 100.0 * self.stats.admissions / self.persons if self.persons else 0.0

    @property
    def primary_visit_share(self) -> float:
        return self.stats.primary_visits / self.stats.visits if self.stats.visits else 0.0

    @property
    def county_admission_share(self) -> float:
        return self.stats.county_admissions / self.stats.admissions if self.stats.admissions else 0.0

    @property
    def outside_covered_share(self) -> float:
        return self.stats.outside_covered / self.stats.covered if self.stats.covered else 0.0


def resolve_format(fmt: str, persons: int) -> str:
    """``auto`` -> ``csv`` below :data:`PARQUET_FROM` persons, else ``parquet``; ``csv``/``parquet`` as given."""
    if fmt == "auto":
        return "csv" if persons < PARQUET_FROM else "parquet"
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be auto, csv or parquet / 格式应为 auto、csv 或 parquet: {fmt!r}")
    return fmt


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def generate_demo(out: Path | str, *, persons: int | None = None, seed: int = DEFAULT_SEED, consortia: int = 2,
                  counties: int = 1, year: int = DEFAULT_YEAR, fmt: str = "auto",
                  calibration: Calibration = DEFAULT_CALIBRATION,
                  progress: Callable[[int, int], None] | None = None, last_year: bool = True) -> DemoSummary:
    """Write a demo data folder to ``out``; ``persons`` in total (default 174,000 per county), split evenly.
    ``last_year``: also the claims of the whole year before (drawn after the year's, from the same generator, so
    the year's files are the same with or without them, but for these rows appended to the claims)."""
    total = PINGWU_PERSONS * counties if persons is None else persons
    if total < counties:
        raise ValueError("need at least one person per county / 每个县至少一人")
    if seed < 0:
        raise ValueError("seed must be >= 0 / 随机种子应为非负整数")
    fmt = resolve_format(fmt, total)
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"{out} exists and is not a folder / 输出路径已存在且不是目录")
    cal = calibration
    places = demo_counties(counties)
    registries = [build_county(c, n_consortia=consortia, rng=np.random.default_rng([seed, k, 0]),
                               urban_share=cal.urban_share) for k, c in enumerate(places)]
    outside_ids, outside_levels = outside_table()
    stats = ClaimStats()
    done = households = last_claims = 0
    with StagedFolder(Path(out)) as stage:
        small = {n: TableSink(stage.path, n, fmt="csv") for n in ("institutions", "consortia")}
        small["institutions"].write(institutions_table(registries))
        small["consortia"].write(consortia_table(registries))
        sinks = {n: TableSink(stage.path, n, fmt=fmt) for n in ("persons", "choices", "designations", "claims")}
        for k, (reg, n_county) in enumerate(zip(registries, _split(total, counties), strict=True)):
            serials = IdNumberSerials(reg.county.code)
            first_person = first_household = first_claim = first_last = 0
            for c, start in enumerate(range(0, n_county, CHUNK_PERSONS)):
                rng = np.random.default_rng([seed, k, c + 1])
                n = min(CHUNK_PERSONS, n_county - start)
                pop = make_population(reg, rng=rng, n_persons=n, first_person=first_person,
                                      first_household=first_household, year=year, serials=serials, cal=cal)
                enr = make_enrollment(reg, pop, rng=rng, year=year, cal=cal)
                claims, chunk_stats, frailty = draw_year_claims(
                    reg, pop, enr, rng=rng, year=year, first_claim=first_claim, outside_ids=outside_ids,
                    outside_levels=outside_levels, cal=cal)
                sinks["persons"].write(pop.table)
                sinks["choices"].write(enr.choices)
                sinks["designations"].write(enr.previous)
                sinks["claims"].write(claims)
                if last_year:
                    before, _ = make_previous_claims(reg, pop, enr, rng=rng, year=year, outside_ids=outside_ids,
                                                     outside_levels=outside_levels, cal=cal, frailty=frailty,
                                                     first_claim=first_last)
                    sinks["claims"].write(before)
                    first_last += before.num_rows
                    last_claims += before.num_rows
                stats.add(chunk_stats)
                first_person += n
                first_household += pop.n_households
                first_claim += claims.num_rows
                households += pop.n_households
                done += n
                if progress is not None:
                    progress(done, total)
        for sink in (*small.values(), *sinks.values()):
            sink.close()
        stage.commit(list(TABLE_NAMES))
    return DemoSummary(
        out=Path(out), fmt=fmt, year=year, seed=seed, counties=counties,
        consortia=sum(r.n_consortia for r in registries), institutions=small["institutions"].rows,
        households=households, persons=done, choices=sinks["choices"].rows,
        designations=sinks["designations"].rows, claims=sinks["claims"].rows, stats=stats,
        last_year_claims=last_claims)
