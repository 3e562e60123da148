"""Use case: simulate scenarios over years and replicates (试点模拟) on the real adjudication, appraisal and settlement.

For every county folder the observed year is run once as ``yigongti run`` runs it (designations, adjudication,
appraisal, settlement): its adjudicated claims become the templates of the years drawn (``engine``), its scores and
kept shares the first inputs of the Q4 choice. Then for every scenario, replicate and year: residents switch
(``engine.switch``), a year of claims is drawn (``engine.draw_claims``) and handed, with the year's designations and
last year's claims, to ``benefits.service.adjudicate_data``, ``appraisal.service.appraise_data`` and
``budget.service.settle_year`` under the scenario's policy: the same code as a real year. The replicates of a year
are adjudicated together in one run and appraised together in one run (every key prefixed by the replicate, split
after: ``_run_batch``, ``worlds``), which gives each replicate the tables of its own run. Random numbers come from
``(seed, county, replicate, year)`` only, so scenarios are compared on common random numbers, the same seed gives the
same numbers, and the counties and replicates can be shared out to processes (``run_simulation(jobs=N)``).

The fund (医保基金): income is the policy's medical pool (``capitation.pool_resident + pool_employee``; without one the
consortia's gross budgets), grown by ``income_growth``. Under the global budget the fund pays each consortium's
prospective budget, the P4P paid and its share of an overspend, takes back the surplus not retained, and pays for
persons living away; under fee for service it pays the fund share of every claim (the adjudication's fund_paid).
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.appraisal.indicator_sets import folder_indicator_set
from yigongti.appraisal.indicators import IndicatorSet
from yigongti.appraisal.service import AppraisalResult, appraise_data
from yigongti.benefits.service import adjudicate_data, designations_for
from yigongti.budget.service import SettlementResult, settle_worlds, settle_year
from yigongti.core.engine import duckdb_threads, set_duckdb_threads
from yigongti.core.money import format_yuan
from yigongti.core.policy import Policy, PolicyError
from yigongti.core.policy_files import folder_policy
from yigongti.core.problems import InvalidInput, Problem, read_text_file
from yigongti.datafolder.folder import DataFolder, find_table_file, read_folder
from yigongti.simulator import engine as g
from yigongti.simulator import worlds
from yigongti.simulator.domain import (
    Behaviour,
    CellKey,
    ConsortiumYear,
    CountyYear,
    Payment,
    Scenario,
    SimulationResult,
    load_scenarios,
    prevention_multiplier,
    repatriation_share,
    scenario_policy,
    utilisation_multipliers,
)

__all__ = ["CONSORTIA_COLUMNS", "MAX_YEARS", "RESULTS_COLUMNS", "CountySetup", "SimulationResult", "county_folders",
           "fund_outlay", "grown", "prepare_county", "process_threads", "read_scenarios", "result_tables",
           "run_simulation", "simulate_county", "write_results"]


@dataclass
class CountySetup:
    """A county prepared once and reused by every scenario, replicate and year (the per-county set-up)."""

    name: str
    data: DataFolder
    policy: Policy
    year: int
    geo: g.Geography
    templates: g.Templates
    designations: pa.Table  # the observed year's (every year's rows)
    observed: g.Designations
    scores: np.ndarray
    satisfied: np.ndarray
    observed_row: CountyYear
    oop: dict[CellKey, float]
    indicator_set: IndicatorSet | None
    prices: dict[str, dict[CellKey, float]] = field(default_factory=dict)  # policy json -> OOP share by cell
    stacks: dict[tuple[str, int], pa.Table] = field(default_factory=dict)  # (table, worlds) -> stacked table

    def stacked_tables(self, n: int) -> dict[str, pa.Table]:
        """Every table of the folder but the claims and designations (the same in every replicate and year) as
        ``n`` worlds, every key prefixed: made once per number of worlds."""
        out = {}
        for name, t in self.data.tables.items():
            if name in ("claims", "designations"):
                continue
            if (name, n) not in self.stacks:
                self.stacks[(name, n)] = worlds.stack([t] * n)
            out[name] = self.stacks[(name, n)]
        return out


def county_folders(data: Path) -> list[tuple[str, Path]]:
    """The county folders of ``data``: the folder itself when it holds a persons table, else each sub-folder that
    does (a pilot: one folder per county), in the order of ``design.csv`` when there is one, else by name. Raises
    InvalidInput when there is none."""
    data = Path(data)
    if find_table_file(data, "persons") is not None:
        return [(data.name, data)]
    subs = sorted(p for p in data.iterdir() if p.is_dir() and find_table_file(p, "persons") is not None) \
        if data.is_dir() else []
    if not subs:
        raise InvalidInput([Problem(str(data), 0, "", "no data folder (no persons table) here or in a sub-folder / "
                                                      "未找到数据目录")])
    design = data / "design.csv"  # a pilot's counties in the order of its design (region by income level)
    if design.is_file():
        order = {r["county"]: i for i, r in enumerate(csv.DictReader(read_text_file(design).splitlines()))
                 if r.get("county")}
        subs.sort(key=lambda p: (order.get(p.name, len(order)), p.name))
    return [(p.name, p) for p in subs]


def read_scenarios(path: Path, base: Policy | None = None,
                   counties: Sequence[tuple[str, Policy]] = ()) -> list[Scenario]:
    """The scenarios file, validated against ``base`` and each county's policy of ``counties`` (name, policy): an
    override merged over each county's own policy must be valid for every county, not only the first (raises
    InvalidInput naming the file, the key and the county)."""
    scenarios = load_scenarios(read_text_file(path), source=str(path), base=base)
    problems = []
    for name, policy in counties:
        for sc in scenarios:
            try:
                scenario_policy(sc, policy, source=str(path))
            except PolicyError as exc:
                problems += [Problem(str(path), 0, ".".join(x for x in (f"scenarios.{sc.name}.policy", k) if x),
                                     f"county {name}: {m}") for k, m in exc.problems]
    if problems:
        raise InvalidInput(problems)
    return scenarios


def _observed_year(data: DataFolder) -> int:
    claims = data.get("claims")
    if claims is None or not claims.num_rows:
        raise InvalidInput([Problem("claims", 0, "", "the simulator needs a year of claims / 模拟需要一年的结算清单")])
    return int(pc.max(pc.year(claims.column("admit_date"))).as_py())


def _in_year(claims: pa.Table, year: int) -> pa.Table:
    return claims.filter(pc.equal(pc.year(claims.column("admit_date")), year))


def _oop(adjudicated: pa.Table, t: g.Templates) -> dict[CellKey, float]:
    """Out-of-pocket share of cost ((total - fund paid) / total) of each template cell."""
    by_id = pc.index_in(t.claims.column("claim_id"), value_set=adjudicated.column("claim_id").combine_chunks())
    idx = np.asarray(pc.fill_null(by_id, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    ok = idx >= 0
    total = np.asarray(adjudicated.column("total_cost").to_numpy(), dtype=np.float64)[idx[ok]]
    paid = np.asarray(adjudicated.column("fund_paid").to_numpy(), dtype=np.float64)[idx[ok]]
    cells = t.cell[ok]
    tot = np.bincount(cells, weights=total, minlength=len(t.cells))
    pay = np.bincount(cells, weights=paid, minlength=len(t.cells))
    return {c: float((tot[i] - pay[i]) / tot[i]) if tot[i] > 0 else 0.0 for i, c in enumerate(t.cells)}


def _income(policy: Policy, settlement: SettlementResult) -> int:
    pool = policy.capitation.pool
    return pool if pool is not None else sum(s.budget.gross for s in settlement.consortia)


def grown(fen: int, growth: float, years: int) -> int:
    """``fen`` grown by ``growth`` a year for ``years`` years, exactly (Decimal, the rate as written), rounded half
    up to the fen: not a float product, which is off by a fen from about 10^14 fen."""
    with localcontext() as ctx:
        ctx.prec = 60  # a fen of 10^17 fen and a factor of 50 years, with room
        factor = (1 + Decimal(repr(growth))) ** years
        return int((fen * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fund_outlay(payment: Payment, settlement: SettlementResult, fund_paid: int) -> int:
    """What the fund pays out in a year (fen): under the global budget the prospective budgets, P4P paid and the
    fund's overspend shares less the surplus not retained, plus persons living away; under fee for service the fund
    share of every claim."""
    if payment is Payment.FEE_FOR_SERVICE:
        return fund_paid
    return sum(s.budget.prospective + s.p4p_paid + s.fund_overspend_share - s.surplus_returned
               for s in settlement.consortia) + sum(settlement.lives_away.values())


def _scores(geo: g.Geography, appraisal_scores: pa.Table, fallback: np.ndarray | None = None) -> np.ndarray:
    got = {r["unit_id"]: float(r["score"]) for r in appraisal_scores.to_pylist() if r["score"] not in (None, "")}
    base = fallback if fallback is not None else np.full(len(geo.consortia), 80.0)
    return np.array([got.get(c, base[i]) for i, c in enumerate(geo.consortia)], dtype=np.float64)


def _merged(data: DataFolder) -> DataFolder:
    inst, cons, mapping = g.merge_consortia(data["institutions"], data["consortia"])
    tables = {**data.tables, "institutions": inst, "consortia": cons}
    for name in ("designations", "choices"):
        t = tables.get(name)
        if t is not None:
            col = t.column("consortium_id")
            new = pa.array([mapping.get(v, v) if v is not None else None for v in col.to_pylist()], pa.string())
            tables[name] = t.set_column(t.column_names.index("consortium_id"), "consortium_id", new)
    gone = pa.array(sorted(c for c, to in mapping.items() if c != to), pa.string())
    for name, t in list(tables.items()):  # appraisal rows of a consortium that no longer exists (checklist ...)
        if "unit_id" in t.column_names:
            tables[name] = t.filter(pc.invert(pc.is_in(t.column("unit_id"), value_set=gone)))
    tables.pop("budget_agreements", None)
    return DataFolder(data.path, tables)


def prepare_county(name: str, folder: Path, *, merged: bool = False, backend: str = "duckdb") -> CountySetup:
    """Run the observed year of a county folder (enroll, adjudicate, appraise, settle) and keep what the years drawn
    need. ``merged``: the county as one consortium. Raises InvalidInput on bad input."""
    data = read_folder(folder)
    policy = folder_policy(folder)
    if merged:
        data = _merged(data)
    year = _observed_year(data)
    iset = folder_indicator_set(folder)
    des = designations_for(data, year, policy)
    adj = adjudicate_data(data, year, policy, des, backend=backend)
    # this year's scores only (the settlement's P4P, the Q4 choice): last year's indicators, which only the
    # appraisal report compares with, are not computed (the same scores; about a third of the appraisal's CPU)
    appraisal = appraise_data(data, year, policy, des, adj, indicator_set=iset, backend=backend, with_previous=False)
    settlement = settle_year(data, year, policy, backend=backend, designations=des, adjudicated=adj,
                             appraisal=appraisal)
    geo = g.geography(data["persons"], data["institutions"], data["consortia"])
    t = g.templates(adj, geo)
    observed = g.designation_arrays(geo, des, year)
    counts = g.year_counts(adj, geo)
    row = CountyYear(name, "observed", Payment.GLOBAL_BUDGET.value, 0, year, geo.n_persons, counts.visits,
                     counts.admissions, counts.in_county_admissions, counts.primary_visits, counts.total_cost,
                     counts.fund_paid, _income(policy, settlement),
                     fund_outlay(Payment.GLOBAL_BUDGET, settlement, counts.fund_paid), 0, 0)
    setup = CountySetup(name, data, policy, year, geo, t, des, observed, _scores(geo, appraisal.scores),
                        g.satisfaction(adj, geo, observed), row, _oop(adj, t), iset)
    setup.prices[policy.model_dump_json()] = setup.oop
    return setup


def _cell_multipliers(setup: CountySetup, policy: Policy, b: Behaviour, backend: str) -> dict[CellKey, float]:
    """The utilisation multiplier of each cell: the observed claims adjudicated under the scenario's policy give
    each cell's out-of-pocket share (the real adjudication), its ratio to the observed one the price change."""
    key = policy.model_dump_json()
    if key not in setup.prices:
        adj = adjudicate_data(setup.data, setup.year, policy, setup.designations, backend=backend)
        setup.prices[key] = _oop(adj, setup.templates)
    new = setup.prices[key]
    ratios = {c: (new[c] / setup.oop[c]) if setup.oop.get(c) else 1.0 for c in setup.templates.cells}
    return utilisation_multipliers(setup.templates.counts(), ratios,
                                   elasticity={"outpatient": b.elasticity_outpatient,
                                               "inpatient": b.elasticity_inpatient},
                                   level_choice=b.level_choice)


_DES_COLUMNS = ("person_id", "year", "consortium_id", "township_id", "village_id")


def _relabel(des: pa.Table, year: int) -> pa.Table:
    return des.set_column(des.column_names.index("year"), "year", pa.array(np.full(des.num_rows, year, np.int64)))


BATCH_CLAIMS = 8_000_000
"""At most this many claim rows (a year's and last year's, over the replicates of a batch) in one adjudication."""


@dataclass
class _Replicate:
    """One replicate's state carried from year to year."""

    number: int
    d: g.Designations
    scores: np.ndarray
    satisfied: np.ndarray
    last_claims: pa.Table
    last_des: pa.Table
    balance: int = 0
    tagged: tuple[pa.Table, pa.Table] | None = None  # last year's claims and designations, keys prefixed (a batch)
    rows: list[CountyYear] = field(default_factory=list)
    crows: list[ConsortiumYear] = field(default_factory=list)


def batch_size(claims_a_year: int, replicates: int, limit: int = BATCH_CLAIMS) -> int:
    """How many replicates of a year are adjudicated together: all of them when their claims (this year's and last
    year's of each) fit within ``limit``, else the fewest batches that fit, of equal size (50 replicates of
    283,000 rows: two batches of 25, not 28 and 22: the same fixed costs, a lower peak of memory); at least one."""
    most = max(1, min(replicates, limit // max(1, 2 * claims_a_year)))
    batches = max(1, -(-replicates // most))
    return max(1, -(-replicates // batches))


def _run_batch(setup: CountySetup, policy: Policy, claims: list[pa.Table], des: list[pa.Table],
               backend: str, stacked: tuple[pa.Table, pa.Table] | None = None,
               ) -> tuple[list[pa.Table], list[AppraisalResult], DataFolder | None, pa.Table | None]:
    """Each replicate's year adjudicated and appraised, all in ONE run of the real adjudication and ONE of the
    real appraisal: every table of the replicates with every key prefixed by the replicate (``worlds``: persons,
    claims, designations, institutions, consortia and the county code too, so that each replicate is a county of
    its own), then the adjudicated claims split by the prefix of their claim id, the indicators, scores and points
    by the prefix of their scope. A claim's adjudication depends only on its own person's claims and designations
    and on the institutions (deductibles, caps and referrals are per person); every indicator is a sum over the
    persons or institutions of one scope and every score a function of its unit's indicators: so each replicate's
    tables are the ones its own run gives (same rows, same order). This year's scores (the P4P and the Q4 choice)
    do not depend on last year's indicators, which only the appraisal report compares with: not computed
    (``with_previous=False``), the money is the same; nor are the appraisal tables' references checked again
    (``checked=True``: the tables of the observed year, checked by :func:`prepare_county`); the year's claims are
    read from the adjudication, which carries their columns (``adjudicated_claims=True``: no join of both years'
    claims with it by claim_id). Also the stacked
    folder and adjudication (None for one replicate), which the settlement of the batch reads
    (``budget.service.settle_worlds``). ``stacked``: the
    claims and designations of the replicates stacked already (``worlds.stack(claims), worlds.stack(des)``: the
    same tables, made by the caller from parts prefixed once, :func:`_stacked_year`)."""
    y0, iset = setup.year, setup.indicator_set
    if len(claims) == 1:
        data = DataFolder(setup.data.path, {**setup.data.tables, "claims": claims[0], "designations": des[0]})
        adj = adjudicate_data(data, y0, policy, des[0], backend=backend)
        return [adj], [appraise_data(data, y0, policy, des[0], adj, indicator_set=iset, backend=backend,
                                     with_previous=False, checked=True, adjudicated_claims=True)], None, None
    n = len(claims)
    all_claims, all_des = stacked if stacked is not None else (worlds.stack(claims), worlds.stack(des))
    data = DataFolder(setup.data.path, {**setup.stacked_tables(n), "claims": all_claims, "designations": all_des})
    adj = adjudicate_data(data, y0, policy, all_des, backend=backend)
    res = appraise_data(data, y0, policy, all_des, adj, indicator_set=iset, backend=backend, with_previous=False,
                        checked=True, adjudicated_claims=True)
    return worlds.split(adj, "claim_id", n), _world_appraisals(res, n), data, adj


def _world_appraisals(res: AppraisalResult, n: int) -> list[AppraisalResult]:
    """Each world of an appraisal of ``n`` stacked worlds, prefixes removed."""
    indicators = worlds.split(res.indicators, "scope", n, ("scope",))
    scores, points = worlds.split(res.scores, "unit_id", n), worlds.split(res.points, "unit_id", n)
    out = []
    for i, tag in enumerate(worlds.prefixes(n)):
        width = len(tag)
        out.append(replace(
            res, indicators=indicators[i], scores=scores[i], points=points[i],
            names={k[width:]: v.replace(tag, "") for k, v in res.names.items() if k.startswith(tag)},
            pending=tuple(s[width:] for s in res.pending if s.startswith(tag)),
            previous_scores={k[width:]: v for k, v in res.previous_scores.items() if k.startswith(tag)}))
    return out


def simulate_county(setup: CountySetup, scenario: Scenario, *, county_index: int, years: int, replicates: int,
                    seed: int, backend: str = "duckdb", progress: Callable[[str], None] | None = None,
                    batch: int | None = None, first: int = 1) -> tuple[list[CountyYear], list[ConsortiumYear]]:
    """Every replicate and year of one scenario in one county. The replicates go in batches (``batch`` at a time,
    by default :func:`batch_size`): a batch's year is adjudicated in one run and appraised in one
    run (:func:`_run_batch`), then each replicate is settled. The replicates are ``first`` .. ``first + replicates
    - 1``. The numbers do not depend on the batch: each replicate draws from its own ``(seed, county, replicate,
    year)`` stream and its claims are adjudicated and appraised as on their own."""
    try:
        policy = scenario_policy(scenario, setup.policy)
    except PolicyError as exc:
        raise InvalidInput([Problem("scenarios", 0, k, m) for k, m in exc.problems]) from exc
    b = scenario.behaviour
    unknown = sorted(set(b.prevention_by_consortium) - set(setup.geo.consortia))
    if unknown:
        raise InvalidInput([Problem("scenarios", 0, f"scenarios.{scenario.name}.behaviour.prevention_by_consortium.{c}",
                                    f"no consortium {c!r} in county {setup.name} (its consortia: "
                                    f"{', '.join(setup.geo.consortia)}) / 该县没有此医共体") for c in unknown])
    cell_mult = _cell_multipliers(setup, policy, b, backend)
    effort = np.array([b.effort(c) for c in setup.geo.consortia], dtype=np.float64)
    names = dict(zip(setup.data["consortia"].column("consortium_id").to_pylist(),
                     setup.data["consortia"].column("name").to_pylist(), strict=True))
    y0 = setup.year
    first_des = setup.designations.filter(pc.equal(setup.designations.column("year"), y0))
    first_claims = g.shift_back(_in_year(setup.data["claims"], y0))
    size = batch if batch is not None else batch_size(setup.templates.claims.num_rows, replicates)
    rows: list[CountyYear] = []
    crows: list[ConsortiumYear] = []
    end = first + replicates
    for start in range(first, end, max(1, size)):
        reps = [_Replicate(r, setup.observed.copy(), setup.scores.copy(), setup.satisfied.copy(), first_claims,
                           _relabel(first_des, y0 - 1))
                for r in range(start, min(start + max(1, size), end))]
        for k in range(1, years + 1):
            if progress is not None:
                span = f"{reps[0].number}" if len(reps) == 1 else f"{reps[0].number}-{reps[-1].number}"
                progress(f"{setup.name} {scenario.name} #{span} {y0 + k}")
            _simulate_year(setup, scenario, policy, reps, k, seed=seed, county_index=county_index,
                           cell_mult=cell_mult, effort=effort, names=names, backend=backend)
        for rep in reps:
            rows += rep.rows
            crows += rep.crows
    return rows, crows


def _simulate_year(setup: CountySetup, scenario: Scenario, policy: Policy, reps: list[_Replicate], k: int, *,
                   seed: int, county_index: int, cell_mult: dict[CellKey, float], effort: np.ndarray,
                   names: dict[str, str], backend: str) -> None:
    """Year ``k`` of every replicate of a batch: switch, draw, adjudicate and appraise (together), settle (each)."""
    b, payment = scenario.behaviour, scenario.payment
    geo, t, y0 = setup.geo, setup.templates, setup.year
    drawn = []
    for rep in reps:
        rng = np.random.default_rng([seed, county_index, rep.number, k])
        before = rep.d
        d, moved = g.switch(rng, geo, rep.d, b, scores=rep.scores, satisfied=rep.satisfied)
        prevention = np.array([prevention_multiplier(b, e, k) for e in effort], dtype=np.float64)
        mult = g.template_multipliers(t, cell_mult, prevention, d)
        claims = g.draw_claims(rng, t, geo, mult, observed=setup.observed, now=d,
                               cost_factor=(1 + b.cost_growth) ** k, prefix=f"S{k:02d}-",
                               repatriate=repatriation_share(b, payment, k),
                               repatriated_cost=b.repatriated_cost_ratio)
        des = g.designations_table(geo, d, y0, moved).select(list(_DES_COLUMNS))
        all_des = pa.concat_tables([des, rep.last_des.select(list(_DES_COLUMNS)).cast(des.schema)])
        all_claims = pa.concat_tables([claims, rep.last_claims.cast(claims.schema)])
        drawn.append((before, d, moved, claims, des, all_des, all_claims))
    now = _stacked_year(reps, [x[3] for x in drawn], [x[4] for x in drawn], y0) if len(reps) > 1 else None
    adjudicated, appraised, stacked, stacked_adj = _run_batch(setup, policy, [x[6] for x in drawn],
                                                              [x[5] for x in drawn], backend,
                                                              None if now is None else now[0])
    ones = [(DataFolder(setup.data.path, {**setup.data.tables, "claims": x[6], "designations": x[5]}), x[5], adj,
             appraisal) for x, adj, appraisal in zip(drawn, adjudicated, appraised, strict=True)]
    if stacked is None or stacked_adj is None:  # one replicate
        settled = [settle_year(one, y0, policy, backend=backend, designations=all_des, adjudicated=adj,
                               appraisal=appraisal) for one, all_des, adj, appraisal in ones]
    else:  # the batch's settlements from one run of the engine's figures, per replicate (world)
        settled = settle_worlds(stacked, worlds.prefixes(len(reps)), ones, y0, policy,
                                designations=stacked["designations"], adjudicated=stacked_adj, backend=backend,
                                hashed=False)  # no output of the simulator reads the settlement's inputs hash
    for i, (rep, (before, d, moved, claims, des, _, _), adj, appraisal, settlement) in enumerate(zip(
            reps, drawn, adjudicated, appraised, settled, strict=True)):
        counts = g.year_counts(adj, geo)
        income = grown(_income(policy, settlement), b.income_growth, k)
        outlay = fund_outlay(payment, settlement, counts.fund_paid)
        rep.balance += income - outlay
        rep.rows.append(CountyYear(setup.name, scenario.name, payment.value, rep.number, y0 + k, geo.n_persons,
                                   counts.visits, counts.admissions, counts.in_county_admissions,
                                   counts.primary_visits, counts.total_cost, counts.fund_paid, income, outlay,
                                   rep.balance, int(moved.sum())))
        rep.crows.extend(_consortium_rows(setup, scenario, rep.number, y0 + k, settlement, before, d, names))
        rep.scores = _scores(geo, appraisal.scores, rep.scores)
        rep.satisfied = g.satisfaction(adj, geo, d)
        rep.d = d
        rep.last_des = _relabel(des, y0 - 1)
        if now is None:
            rep.last_claims = g.shift_back(claims)
        else:  # this year's prefixed claims and designations are next year's last year, prefixed: the same rows
            tagged_claims, tagged_des = now[1][i]
            rep.last_claims, tagged = g.shift_back_all(claims, tagged_claims)
            rep.tagged = (tagged, _relabel(tagged_des, y0 - 1))


def _stacked_year(reps: list[_Replicate], claims: list[pa.Table], des: list[pa.Table], y0: int,
                  ) -> tuple[tuple[pa.Table, pa.Table], list[tuple[pa.Table, pa.Table]]]:
    """The claims and designations of a batch's year stacked as worlds, each world's this year then last year:
    ``worlds.stack`` of each replicate's ``[this year, last year]`` (the same table), but last year's part prefixed
    once, in the year before (``_Replicate.tagged``: its claims shifted back and its designations relabelled after
    the prefix, which touches only the keys), not again. Also each world's prefixed part of this year, for next
    year."""
    tags = worlds.prefixes(len(reps))
    parts_claims, parts_des, now = [], [], []
    for rep, c, d, tag in zip(reps, claims, des, tags, strict=True):
        if rep.tagged is None:  # the first year: the observed year's claims and designations as last year
            rep.tagged = (worlds.prefix(rep.last_claims.cast(c.schema), tag),
                          worlds.prefix(rep.last_des.select(list(_DES_COLUMNS)).cast(d.schema), tag))
        tc, td = worlds.prefix(c, tag), worlds.prefix(d, tag)
        parts_claims += [tc, rep.tagged[0].cast(tc.schema)]
        parts_des += [td, rep.tagged[1].select(list(_DES_COLUMNS)).cast(td.schema)]
        now.append((tc, td))
    return (worlds.concat(parts_claims), worlds.concat(parts_des)), now


def _consortium_rows(setup: CountySetup, scenario: Scenario, replicate: int, year: int,
                     settlement: SettlementResult, before: g.Designations, now: g.Designations,
                     names: dict[str, str]) -> list[ConsortiumYear]:
    geo = setup.geo
    m = len(geo.consortia)
    changed = before.consortium != now.consortium
    into = np.bincount(now.consortium[changed & (now.consortium >= 0)], minlength=m)
    out_of = np.bincount(before.consortium[changed & (before.consortium >= 0)], minlength=m)
    ffs = scenario.payment is Payment.FEE_FOR_SERVICE
    out = []
    for s in settlement.consortia:
        i = geo.consortia.index(s.consortium_id) if s.consortium_id in geo.consortia else -1
        out.append(ConsortiumYear(
            setup.name, scenario.name, replicate, year, s.consortium_id, names.get(s.consortium_id, ""),
            s.enrollees, int(into[i]) if i >= 0 else 0, int(out_of[i]) if i >= 0 else 0,
            0 if ffs else s.budget.gross, s.in_network_spend + s.out_of_network_deductions,
            0 if ffs else s.balance, 0 if ffs else s.retained_surplus - s.consortium_overspend,
            0 if ffs else s.p4p_paid, "" if s.score is None else f"{Decimal(s.score).normalize():f}", s.grade))
    return out


@dataclass(frozen=True)
class _Task:
    """A share of a simulation for one process: one county, every scenario, replicates ``first`` ..
    ``first + count - 1``."""

    county_index: int
    name: str
    folder: Path
    scenarios: tuple[Scenario, ...]
    years: int
    first: int
    count: int
    seed: int
    backend: str


_SETUPS: dict[tuple[str, bool, str], CountySetup] = {}
"""The counties a process has prepared (a process runs the tasks of a county one after the other)."""


def _run_task(task: _Task, progress: Callable[[str], None] | None = None,
              ) -> tuple[list[tuple[list[CountyYear], list[ConsortiumYear]]], CountyYear]:
    """Every scenario of a task: its rows per scenario, and the county's observed row; ``progress`` is told each
    scenario's batch-year (in the calling process only)."""
    out = []
    first_setup: CountySetup | None = None
    for sc in task.scenarios:
        key = (str(task.folder), sc.merge_consortia, task.backend)
        if key not in _SETUPS:
            if any(k[0] != key[0] for k in _SETUPS):  # a process keeps one county (plain and merged set-ups)
                _SETUPS.clear()
            _SETUPS[key] = prepare_county(task.name, task.folder, merged=sc.merge_consortia, backend=task.backend)
        setup = _SETUPS[key]
        first_setup = first_setup or setup
        out.append(simulate_county(setup, sc, county_index=task.county_index, years=task.years,
                                   replicates=task.count, seed=task.seed, backend=task.backend, first=task.first,
                                   progress=progress))
    assert first_setup is not None
    return out, first_setup.observed_row


def _tasks(folders: Sequence[tuple[str, Path]], scenarios: Sequence[Scenario], *, years: int, replicates: int,
           seed: int, backend: str, jobs: int) -> list[_Task]:
    """The simulation in tasks, in the order of the results: by county, then by replicates. One task per county
    when there are at least ``jobs`` counties (each county prepared once, its replicates in full batches), else each
    county's replicates in parts (every process that takes a part prepares the county once)."""
    parts = 1 if jobs <= len(folders) else min(replicates, -(-jobs // len(folders)))
    out = []
    for ci, (name, folder) in enumerate(folders):
        bounds = [1 + replicates * p // parts for p in range(parts + 1)]
        out += [_Task(ci, name, folder, tuple(scenarios), years, lo, hi - lo, seed, backend)
                for lo, hi in itertools.pairwise(bounds) if hi > lo]
    return out


def _largest_first(tasks: Sequence[_Task]) -> list[int]:
    """The indexes of ``tasks`` by decreasing work (the county's claims files' bytes x replicates; ties in order):
    the order in which processes take them, longest processing time first."""
    def work(task: _Task) -> int:
        path = find_table_file(task.folder, "claims")
        files = [] if path is None else sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        return sum(f.stat().st_size for f in files) * task.count

    sizes = [work(t) for t in tasks]
    return sorted(range(len(tasks)), key=lambda i: (-sizes[i], i))


def process_threads(processes: int, cores: int | None = None) -> int:
    """DuckDB threads of each of ``processes`` simulating processes: ``$YIGONGTI_DUCKDB_THREADS`` when set, else the
    machine's cores shared out (at least one)."""
    return duckdb_threads() or max(1, (cores or os.cpu_count() or 1) // max(1, processes))


MAX_YEARS = 50
"""At most this many years simulated after the observed one (the model's behaviour is of a few years, not ages)."""


def run_simulation(data: Path, scenarios: Sequence[Scenario], *, years: int, replicates: int, seed: int,
                   backend: str = "duckdb", progress: Callable[[str], None] | None = None,
                   jobs: int = 1) -> SimulationResult:
    """Every county of ``data`` x scenario x replicate x year, in ``jobs`` processes (the same numbers for any
    number). Raises InvalidInput on bad input or arguments."""
    problems = [Problem("arguments", 0, name, "must be at least 1 / 至少为 1")
                for name, v in (("--years", years), ("--replicates", replicates), ("--jobs", jobs)) if v < 1]
    if years > MAX_YEARS:
        problems.append(Problem("arguments", 0, "--years", f"at most {MAX_YEARS} / 至多 {MAX_YEARS} 年"))
    if seed < 0:
        problems.append(Problem("arguments", 0, "--seed", "must be >= 0 / 应为非负整数"))
    if problems:
        raise InvalidInput(problems)
    folders = county_folders(data)
    result = SimulationResult(list(scenarios), [n for n, _ in folders], years, replicates, seed)
    tasks = _tasks(folders, scenarios, years=years, replicates=replicates, seed=seed, backend=backend, jobs=jobs)
    if jobs <= 1 or len(tasks) == 1:
        done = []
        for task in tasks:
            if progress is not None:
                progress(f"{task.name} #{task.first}-{task.first + task.count - 1}")
            done.append(_run_task(task, progress))
        _SETUPS.clear()
    else:
        # spawned, not forked: a forked child would inherit the parent's engine threads and locks. Each process's
        # DuckDB gets its share of the cores (one thread each with --jobs 2 on two cores), unless set explicitly
        workers = min(jobs, len(tasks))
        threads = process_threads(workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=set_duckdb_threads, initargs=(threads,)) as pool:
            # the largest tasks first (a process takes the next task when it is free): the last ones are the
            # smallest, so that the processes finish close together (12 counties on 2 processes in the order of
            # the design left one process alone for most of a county at the end)
            futures = {i: pool.submit(_run_task, tasks[i]) for i in _largest_first(tasks)}
            for n, _ in enumerate(as_completed(futures.values()), start=1):
                if progress is not None:
                    progress(f"{n}/{len(tasks)}")
            done = [futures[i].result() for i in range(len(tasks))]
    for ci in range(len(folders)):  # the order of a single process: county, scenario, replicate, year
        mine = [per_scenario for (per_scenario, _), task in zip(done, tasks, strict=True) if task.county_index == ci]
        for si in range(len(scenarios)):
            for per_scenario in mine:
                rows, crows = per_scenario[si]
                result.rows += rows
                result.consortia += crows
    result.observed += [observed for (_, observed), task in zip(done, tasks, strict=True) if task.first == 1]
    return result


RESULTS_COLUMNS = ("county", "scenario", "payment", "replicate", "year", "persons", "fund_income", "fund_outlay",
                   "fund_result", "fund_balance", "in_county_admission_share", "primary_visit_share",
                   "out_of_pocket_share", "heads_moved", "visits_per_person", "admissions_per_100", "claims_cost",
                   "claims_fund_paid")
CONSORTIA_COLUMNS = ("county", "scenario", "replicate", "year", "consortium_id", "name", "heads", "heads_in",
                     "heads_out", "budget", "spending", "balance", "surplus", "p4p_paid", "score", "grade")


def _result_cells(r: CountyYear) -> list[str]:
    return [r.county, r.scenario, r.payment, str(r.replicate), str(r.year), str(r.persons),
            format_yuan(r.fund_income), format_yuan(r.fund_outlay), format_yuan(r.fund_result),
            format_yuan(r.fund_balance), f"{r.in_county_admission_share:.4f}", f"{r.primary_visit_share:.4f}",
            f"{r.out_of_pocket_share:.4f}", str(r.heads_moved), f"{r.visits_per_person:.3f}",
            f"{r.admissions_per_100:.2f}", format_yuan(r.total_cost), format_yuan(r.fund_paid_claims)]


def _consortium_cells(c: ConsortiumYear) -> list[str]:
    return [c.county, c.scenario, str(c.replicate), str(c.year), c.consortium_id, c.name, str(c.heads),
            str(c.heads_in), str(c.heads_out), format_yuan(c.budget), format_yuan(c.spending),
            format_yuan(c.balance), format_yuan(c.surplus), format_yuan(c.p4p_paid), c.score, c.grade]


def result_tables(result: SimulationResult) -> dict[str, tuple[tuple[str, ...], list[list[str]]]]:
    """The tables of results.csv, consortia.csv and observed.csv (file name -> header, rows): money in yuan, shares
    as decimals; the files the command writes and the platform's downloads."""
    return {"results.csv": (RESULTS_COLUMNS, [_result_cells(r) for r in result.rows]),
            "consortia.csv": (CONSORTIA_COLUMNS, [_consortium_cells(c) for c in result.consortia]),
            "observed.csv": (RESULTS_COLUMNS, [_result_cells(r) for r in result.observed])}


def write_results(result: SimulationResult, out: Path) -> list[Path]:
    """results.csv (a row per county, scenario, replicate and year), consortia.csv (the same per consortium) and
    observed.csv (each county's observed year): UTF-8, money in yuan, shares as decimals."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for fname, (head, rows) in result_tables(result).items():
        path = out / fname
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(head)
            w.writerows(rows)
        files.append(path)
    return files
