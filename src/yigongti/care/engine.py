"""The chronic-disease management measures (慢病管理指标), columnar (Ibis on DuckDB), by month.

Inputs are the data folder's ``followups`` (with readings), ``claims`` (diagnoses) and ``institutions``. A patient is
one (person, disease): registered (建档) on the earlier of the first claim whose diagnosis is in the policy's ICD-10
ranges (I10-I15 hypertension, E10-E14 diabetes) and the first follow-up (screening at a follow-up), at that row's
institution. At the end of each month of the year, for each patient registered by then:

* ``registered`` 登记管理人数: registered on or before the month's end;
* ``under_management`` 纳入管理人数: registered before the last ``overdue_months`` (3) months;
* ``standardized`` 规范管理人数: registered, with at least ``followups_per_year`` (4) follow-ups in the year so far;
* ``controlled`` 控制人数: under management, the last follow-up of the year so far controlled;
* ``missed_visit`` 近3个月未随访人数: under management, no follow-up in the last ``overdue_months`` months;
* ``lost`` 失访人数: under management, no follow-up in the last ``lost_months`` (12) months.

A patient never followed up counts from their registration (the claim that registered them), as the worklists do.

Rates: standardized / registered, controlled / under management, missed_visit / under management, lost / under
management (percent with one decimal, exact). A patient is counted at the institution of their last follow-up by the
month's end (else the institution of registration), and rolled up: village clinic, township centre (the village
clinic's parent), consortium, county.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.care.domain import Disease, GpPay, add_months, gp_pay, quality_score
from yigongti.core.engine import connect, icd_expr, register_arrow, to_arrow
from yigongti.core.policy import CarePolicy, GpPayPolicy

__all__ = ["COUNTS", "MEASURE_COLUMNS", "RATES", "Measures", "controlled_expr", "fill_controlled", "measures",
           "GP_PAY_COLUMNS", "GpPayRow", "gp_pay_rows", "gp_pay_table", "patients_at_year_end"]

COUNTS = ("registered", "under_management", "standardized", "controlled", "missed_visit", "lost")
RATES = (("standardized_rate", "standardized", "registered"), ("control_rate", "controlled", "under_management"),
         ("missed_visit_rate", "missed_visit", "under_management"), ("lost_rate", "lost", "under_management"))
MEASURE_COLUMNS = ("scope_kind", "scope", "year", "month", "disease", *COUNTS, *(r[0] for r in RATES))
SCOPE_KINDS = ("village", "township", "consortium", "county")


@dataclass(frozen=True)
class Measures:
    """``table``: one row per scope, month and disease with :data:`MEASURE_COLUMNS`."""

    table: pa.Table
    patients: int


def controlled_expr(f: ir.Table, policy: CarePolicy) -> ir.BooleanValue:
    """A follow-up's control: its ``controlled`` cell when given, else from its readings (BP < 140/90 for
    hypertension, fasting glucose < 7.0 for diabetes), else not controlled."""
    bp = ((f.systolic < policy.systolic_below) & (f.diastolic < policy.diastolic_below))
    glucose = f.fasting_glucose < float(policy.glucose_below)
    derived = ibis.cases((f.disease == Disease.HYPERTENSION.value, bp),
                         (f.disease == Disease.DIABETES.value, glucose), else_=ibis.null("boolean"))
    return f.controlled.coalesce(derived).coalesce(False)


def fill_controlled(followups: pa.Table, policy: CarePolicy) -> pa.Table:
    """The ``followups`` table with every ``controlled`` cell filled (:func:`controlled_expr`), for readers that
    need a value (the appraisal)."""
    if followups.num_rows == 0 or followups.column("controlled").null_count == 0:
        return followups
    con = connect("duckdb")
    f = register_arrow(con, followups)
    out = to_arrow(f.mutate(controlled=controlled_expr(f, policy)))
    return out.select(followups.column_names)


def _patients(f: ir.Table, claims: ir.Table | None, policy: CarePolicy, year_end: date) -> ir.Table:
    """(person_id, disease, registered_on, reg_inst): the earliest claim diagnosis or follow-up of each patient."""
    rows = f.select("person_id", "disease", on=f.date, inst_id=f.inst_id)
    if claims is not None:
        c = claims.filter(claims.diagnosis.notnull())
        dis = ibis.cases((icd_expr(c.diagnosis, policy.hypertension_icd), Disease.HYPERTENSION.value),
                         (icd_expr(c.diagnosis, policy.diabetes_icd), Disease.DIABETES.value),
                         else_=ibis.null("string"))
        c = c.mutate(disease=dis).filter(lambda t: t.disease.notnull())
        rows = rows.union(c.select("person_id", "disease", on=c.admit_date, inst_id=c.inst_id))
    rows = rows.filter(rows.on <= year_end)
    first = ibis.row_number().over(group_by=[rows.person_id, rows.disease], order_by=[rows.on, rows.inst_id])
    rows = rows.mutate(_rn=first)
    return rows.filter(rows._rn == 0).select("person_id", "disease", registered_on=rows.on, reg_inst=rows.inst_id)


def _pct(num: int, den: int) -> str | None:
    if den == 0:
        return None
    return str((Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def measures(followups: pa.Table, institutions: pa.Table, year: int, policy: CarePolicy, *,
             claims: pa.Table | None = None, backend: str = "duckdb") -> Measures:
    """The measures of ``year`` by month (see the module's docstring)."""
    con = connect(backend)
    f = register_arrow(con, followups.select(["person_id", "inst_id", "date", "disease", "controlled", "systolic",
                                              "diastolic", "fasting_glucose"]))
    f = f.mutate(ctl=controlled_expr(f, policy)).select("person_id", "inst_id", "date", "disease", "ctl")
    c = (register_arrow(con, claims.select(["person_id", "inst_id", "admit_date", "diagnosis"]))
         if claims is not None and claims.num_rows else None)
    months = pa.table({
        "month": pa.array(range(1, 13), pa.int64()),
        "month_end": pa.array([add_months(date(year, m, 1), 1) - (date(2000, 1, 2) - date(2000, 1, 1))
                               for m in range(1, 13)], pa.date32()),
        "mgmt_cut": pa.array([add_months(add_months(date(year, m, 1), 1), -policy.overdue_months)
                              for m in range(1, 13)], pa.date32()),
        "lost_cut": pa.array([add_months(add_months(date(year, m, 1), 1), -policy.lost_months)
                              for m in range(1, 13)], pa.date32()),
    })
    mt = register_arrow(con, months)
    pats = _patients(f, c, policy, date(year, 12, 31))
    pm = pats.cross_join(mt)
    pm = pm.filter(pm.registered_on <= pm.month_end)
    # one row per patient-month and each of their follow-ups up to the month's end (left: none yet)
    fj = f.rename(f_person="person_id", f_disease="disease", f_inst="inst_id", f_date="date")
    j = pm.left_join(fj, (pm.person_id == fj.f_person) & (pm.disease == fj.f_disease) & (fj.f_date <= pm.month_end))
    in_year = j.f_date.year() == year
    per = j.group_by(["person_id", "disease", "month", "registered_on", "reg_inst", "mgmt_cut", "lost_cut"]).aggregate(
        n_year=in_year.cast("int64").sum(),
        last_date=j.f_date.max(),
        last_ctl=j.ctl.argmax(j.f_date),
        last_inst=j.f_inst.argmax(j.f_date),
    )
    # "before the last 3 months": registered before the first day of the 3-month window ending at the month's end
    managed = per.registered_on < per.mgmt_cut
    last_in_year = per.last_date.notnull() & (per.last_date.year() == year)
    seen = per.last_date.coalesce(per.registered_on)  # never followed up: counted from the registration (a claim)
    per = per.mutate(
        inst_id=per.last_inst.coalesce(per.reg_inst),
        registered=ibis.literal(1),
        under_management=managed.cast("int64"),
        standardized=(per.n_year.coalesce(0) >= policy.followups_per_year).cast("int64"),
        controlled=(managed & last_in_year & per.last_ctl.coalesce(False)).cast("int64"),
        missed_visit=(managed & (seen < per.mgmt_cut)).cast("int64"),
        lost=(managed & (seen < per.lost_cut)).cast("int64"),
    )
    inst = register_arrow(con, institutions.select(["inst_id", "tier", "parent_id", "consortium_id", "county_code"]))
    x = per.join(inst, per.inst_id == inst.inst_id)
    scopes: dict[str, Any] = {
        "village": ibis.ifelse(x.tier == "village", x.inst_id, ibis.null("string")),
        "township": ibis.cases((x.tier == "village", x.parent_id), (x.tier == "township", x.inst_id),
                               else_=ibis.null("string")),
        "consortium": x.consortium_id,
        "county": x.county_code,
    }
    parts = []
    for kind in SCOPE_KINDS:
        s = x.mutate(scope_kind=ibis.literal(kind), scope=scopes[kind])
        s = s.filter(s.scope.notnull())
        parts.append(s.group_by(["scope_kind", "scope", "month", "disease"]).aggregate(
            **{k: s[k].sum().cast("int64") for k in COUNTS}))
    out = to_arrow(ibis.union(*parts).order_by(["scope_kind", "scope", "disease", "month"]))
    n_patients = int(to_arrow(pats.count().as_table()).column(0)[0].as_py() or 0)
    cols: dict[str, pa.Array] = {
        "scope_kind": out.column("scope_kind"), "scope": out.column("scope"),
        "year": pa.array([year] * out.num_rows, pa.int64()), "month": out.column("month"),
        "disease": out.column("disease")}
    counts = {k: out.column(k).to_pylist() for k in COUNTS}
    for k in COUNTS:
        cols[k] = pa.array(counts[k], pa.int64())
    for name, num, den in RATES:
        cols[name] = pa.array([_pct(a, b) for a, b in zip(counts[num], counts[den], strict=True)], pa.string())
    order = {k: i for i, k in enumerate(SCOPE_KINDS)}
    table = pa.table(cols)
    idx = sorted(range(table.num_rows), key=lambda i: (order[cols["scope_kind"][i].as_py()],
                                                       cols["scope"][i].as_py(), cols["disease"][i].as_py(),
                                                       cols["month"][i].as_py()))
    return Measures(table.take(pa.array(idx, pa.int64())), n_patients)


def patients_at_year_end(followups: pa.Table | None, year: int, policy: CarePolicy, *, claims: pa.Table | None = None,
                         backend: str = "duckdb") -> pa.Table:
    """Each patient (person_id, disease) registered by the end of ``year``, as the December row of the measures counts
    them: ``under_management`` (registered before the last ``overdue_months`` months), ``standardized`` (at least
    ``followups_per_year`` follow-ups in the year), ``controlled`` (under management, the last follow-up of the year
    controlled), each 0 or 1."""
    con = connect(backend)
    cols = ["person_id", "inst_id", "date", "disease", "controlled", "systolic", "diastolic", "fasting_glucose"]
    if followups is None:
        followups = pa.table({"person_id": pa.array([], pa.string()), "inst_id": pa.array([], pa.string()),
                              "date": pa.array([], pa.date32()), "disease": pa.array([], pa.string()),
                              "controlled": pa.array([], pa.bool_()), "systolic": pa.array([], pa.int64()),
                              "diastolic": pa.array([], pa.int64()), "fasting_glucose": pa.array([], pa.float64())})
    f = register_arrow(con, followups.select(cols))
    f = f.mutate(ctl=controlled_expr(f, policy)).select("person_id", "inst_id", "date", "disease", "ctl")
    c = (register_arrow(con, claims.select(["person_id", "inst_id", "admit_date", "diagnosis"]))
         if claims is not None and claims.num_rows else None)
    pats = _patients(f, c, policy, date(year, 12, 31))
    fy = f.filter(f.date.year() == year)
    agg = fy.group_by(_p=fy.person_id, _d=fy.disease).aggregate(_n=fy.count(), _last=fy.ctl.argmax(fy.date))
    j = pats.left_join(agg, (pats.person_id == agg._p) & (pats.disease == agg._d))
    managed = j.registered_on < add_months(date(year + 1, 1, 1), -policy.overdue_months)
    out = j.select("person_id", "disease",
                   under_management=managed.cast("int64"),
                   standardized=(j._n.coalesce(0) >= policy.followups_per_year).cast("int64"),
                   controlled=(managed & j._last.coalesce(False)).cast("int64"))
    return to_arrow(out.order_by(["person_id", "disease"]))


# --------------------------------------------------------------------------------------------- GP pay

GP_PAY_COLUMNS = ("gp_id", "inst_id", "tier", "year", "heads", "registered", "under_management", "standardized",
                  "controlled", "quality_score", "base_pay", "quality_pay", "rural_allowance", "total")


@dataclass(frozen=True)
class GpPayRow:
    """One GP's pay for a year with the counts it comes from."""

    gp_id: str
    inst_id: str
    tier: str
    heads: int
    registered: int
    under_management: int
    standardized: int
    controlled: int
    pay: GpPay


def _active(contracts: pa.Table, year: int) -> pa.Table:
    """The contracts in force on some day of ``year`` that name a GP."""
    lo, hi = pa.scalar(date(year, 1, 1), pa.date32()), pa.scalar(date(year, 12, 31), pa.date32())
    end = contracts.column("end_date")
    keep = pc.and_(pc.and_(pc.is_valid(contracts.column("gp_id")), pc.less_equal(contracts.column("start_date"), hi)),
                   pc.or_kleene(pc.is_null(end), pc.greater_equal(end, lo)))
    return contracts.filter(keep)


def gp_pay_rows(contracts: pa.Table, institutions: pa.Table, patients: pa.Table, year: int,
                policy: GpPayPolicy) -> list[GpPayRow]:
    """Every GP's pay for ``year``, by gp_id: heads = the distinct residents under a contract with the GP in force on
    some day of the year; their chronic patients (``patients``: :func:`patients_at_year_end`) give the quality score
    (:func:`~yigongti.care.domain.quality_score`); the GP's institution is the one of most of their contracts (ties:
    the smaller id), its tier the rural allowance."""
    active = _active(contracts, year)
    heads: dict[str, set[str]] = defaultdict(set)
    insts: dict[str, Counter[str]] = defaultdict(Counter)
    for gp, person, inst in zip(*(active.column(c).to_pylist() for c in ("gp_id", "person_id", "inst_id")),
                                strict=True):
        heads[gp].add(person)
        insts[gp][inst] += 1
    by_person: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for person, um, st, ctl in zip(*(patients.column(c).to_pylist() for c in
                                     ("person_id", "under_management", "standardized", "controlled")), strict=True):
        by_person[person].append((um, st, ctl))
    tiers = dict(zip(institutions.column("inst_id").to_pylist(), institutions.column("tier").to_pylist(),
                     strict=True))
    rows = []
    for gp in sorted(heads):
        inst = min(insts[gp].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        mine = [p for person in heads[gp] for p in by_person.get(person, [])]
        counts = {"registered": len(mine), "under_management": sum(p[0] for p in mine),
                  "standardized": sum(p[1] for p in mine), "controlled": sum(p[2] for p in mine)}
        score = quality_score(**counts, policy=policy)
        tier = str(tiers.get(inst, ""))
        rows.append(GpPayRow(gp, inst, tier, len(heads[gp]), **counts,
                             pay=gp_pay(heads=len(heads[gp]), tier=tier, score=score, policy=policy)))
    return rows


def _yuan(fen: int) -> str:
    return str(Decimal(fen).scaleb(-2).quantize(Decimal("0.01")))


def gp_pay_table(rows: list[GpPayRow], year: int) -> pa.Table:
    """The rows as ``gp_pay.csv``: money in yuan with 2 decimals (exact: the fen are summed, then written), the
    quality score as a decimal with 4 places (half up; the pay is computed from the exact score)."""
    def score(r: GpPayRow) -> str:
        s = r.pay.score
        return str((Decimal(s.numerator) / Decimal(s.denominator)).quantize(Decimal("0.0001")))

    cols: dict[str, list[object]] = {
        "gp_id": [r.gp_id for r in rows], "inst_id": [r.inst_id for r in rows], "tier": [r.tier for r in rows],
        "year": [year] * len(rows), "heads": [r.heads for r in rows],
        "registered": [r.registered for r in rows], "under_management": [r.under_management for r in rows],
        "standardized": [r.standardized for r in rows], "controlled": [r.controlled for r in rows],
        "quality_score": [score(r) for r in rows], "base_pay": [_yuan(r.pay.base) for r in rows],
        "quality_pay": [_yuan(r.pay.quality) for r in rows], "rural_allowance": [_yuan(r.pay.rural) for r in rows],
        "total": [_yuan(r.pay.total) for r in rows]}
    return pa.table({k: pa.array(v, pa.int64() if k in ("year", "heads", "registered", "under_management",
                                                          "standardized", "controlled") else pa.string())
                     for k, v in cols.items()})
