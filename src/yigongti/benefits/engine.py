"""Benefits adjudication (待遇结算) as one Ibis expression: DuckDB by default, Spark unchanged.

The same rules as ``yigongti.benefits.domain`` (the single-claim path and the reference loop), column by column:

- network status and benefit row by joins with institutions, persons and designations;
- the outpatient deductible per person-year: the running applied total S follows
  S_i = max(S_{i-1}, min(D_i, S_{i-1} + C_i)), which with several row deductibles d_1 < ... < d_m is not one running
  sum. It is m running sums: S^(k) = min(S, d_k) = min(d_k, cumsum x^(k)) where x^(k)_j = C_j for claims with
  D_j >= d_k and the increment of S^(k-1) at j otherwise (S^(0) = 0); a claim applies the increment of S^(m);
- the inpatient deductible per admission, counted continuously across referrals (连续计算起付线): a chain of
  referrals is resolved by iterating a join over the (few) referred admissions as many times as the longest chain;
- half-up rounding in integers, (2 * a * bp + 10000) // 20000, exact on both backends;
- the annual cap: capped cumulative = min(cap, cumulative fund); a claim pays its increment;
- the two-disease benefit (两病用药保障, off by default): the claims it pays and what it pays are found first, by a
  query of their own over the claims that could be for it (an outpatient claim with a hypertension or diabetes
  diagnosis, of a person registered for it by an earlier claim: a GROUP BY of those claims) with its yearly cap's
  running sum, and kept as a small table claim_id -> payment that every pass looks up.

Running sums are the cost (a window sorts and holds every column it is given), so only the claims that need one go
through one, on the few columns it needs, each in a query of its own before the main pass: the claims of persons
whose covered costs could reach the annual cap (found first: on DuckDB the persons whose bucket's covered costs
pass the cap, on Spark by a GROUP BY; usually none, a few hundred to a few thousand in a province) through the
deductible's and the cap's running sums, decided whole; the others' claims that accrue an outpatient deductible
through the deductible's, kept as claim_id -> deductible where it is not 0. The main pass reads every other claim
once with the columns wanted and decides it without any running sum, looking up the deductible of the claims that
accrue one. Apart, each query holds less: at 100 M claims the one query of before ran at DuckDB's 5 GB limit (5.9 GB
resident), these peak at 4.1-4.6 GB; the running sums carrying the wanted columns inside the main pass made DuckDB
spill 6.7 GB to disk.
The referrals and the continuous deductibles of the (few) referred admissions are computed first, as small tables
(on DuckDB from one scan that also reads the over-cap candidates' claims). On DuckDB the persons and their
designations are decided once (:func:`_coded`) for every pass that joins claims with them (the two-disease
benefit's, the over-cap persons', the deductibles', the main one).
The module reads in two parts: first the rules, one column expression per decision of
``yigongti.benefits.domain`` under the same name (:func:`network_status`, :func:`row_name`, :func:`has_benefit`,
:func:`is_flat_copay`, :func:`fund_rate`, :func:`flat_copay`, :func:`outpatient_deductible`,
:func:`inpatient_deductible`, :func:`continuous_deductible`, :func:`rated_fund`, :func:`annual_cap`, :func:`rule`);
then how the work is split into passes (temporary tables, buckets, Spark), which only calls them.
Every window is ordered by (admit_date, claim_id), a total order, so that DuckDB and Spark agree to the fen; the
result is sorted by claim_id at the end unless the caller does not need it (``ordered=False``: a sort of every
column, the costliest step at province scale).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from yigongti.benefits.domain import ROW_NAMES, NetworkStatus, Rule, Setting, outpatient_deductible_levels
from yigongti.core.engine import duckdb_sql, icd_expr, register_arrow, to_arrow
from yigongti.core.money import BP
from yigongti.core.policy import BenefitPolicy, BenefitRow, Insurance, TwoDiseasePolicy
from yigongti.registry.domain import Tier

__all__ = [
    "DESIGNATED_COLUMNS",
    "DESIGNATED_CONSORTIUM",
    "DESIGNATED_TOWNSHIP",
    "DESIGNATED_VILLAGE",
    "DESIGNATION_CODE",
    "OUTPUT_COLUMNS",
    "RULE_NAMES",
    "STATUS_NAMES",
    "adjudicate",
    "annual_cap",
    "continuous_deductible",
    "decoded",
    "deductible",
    "flat_copay",
    "fund_rate",
    "has_benefit",
    "inpatient_deductible",
    "is_flat_copay",
    "network_status",
    "outpatient_deductible",
    "rated_fund",
    "row_name",
    "rule",
    "registered_before",
    "two_disease_applies",
    "two_disease_fund",
]

OUTPUT_COLUMNS = ("network_status", "deductible", "fund_paid", "patient_paid", "rule")
DESIGNATED_CONSORTIUM = "designated_consortium"
DESIGNATED_TOWNSHIP = "designated_township"
DESIGNATED_VILLAGE = "designated_village"
# what ``adjudicate(..., designated=True)`` adds: the claim's person's designation in the year (consortium, township
# and village institution), which the settlement would otherwise join the designations again for
DESIGNATED_COLUMNS = (DESIGNATED_CONSORTIUM, DESIGNATED_TOWNSHIP, DESIGNATED_VILLAGE)
# what stands for them in ``adjudicate(..., designation_codes=[])``: the row of the places table handed back
DESIGNATION_CODE = "_designation"

_S = NetworkStatus
_STATUS_CODES = (_S.DESIGNATED, _S.IN_CONSORTIUM, _S.OTHER_CONSORTIUM, _S.OUTSIDE)  # _status 0..3
_DESIGNATED, _IN_CONSORTIUM, _OTHER, _OUTSIDE = range(4)
_RULES = tuple(Rule)  # rule codes carried through the windows as integers
# what the codes of network_status and rule stand for (``adjudicate(..., coded=True)`` hands back the codes)
STATUS_NAMES = tuple(s.value for s in _STATUS_CODES)
RULE_NAMES = tuple(r.value for r in _RULES)
_NOTHING, _FLAT, _RATED, _TWO_DISEASE = range(4)  # payment kinds
_DECISION_INPUTS = ("claim_id", "person_id", "inst_id", "setting", "emergency", "admit_date", "covered_cost",
                    "unreasonable")
_ZERO = ibis.literal(0, "int64")


# ============================================================================================= the rules
# One column expression per decision of ``yigongti.benefits.domain``, under the same name; codes are small integers
# (cheap to carry through windows): network status 0..3 (_STATUS_CODES), benefit row 0..5 (ROW_NAMES), rule
# (_RULES).


def network_status(*, outside: ir.BooleanValue, consortium: ir.StringValue, designated_consortium: ir.StringValue,
                   county: ir.BooleanValue, inst_id: ir.StringValue, township: ir.StringValue,
                   village: ir.StringValue) -> ir.IntegerValue:
    """Network status (就医类别) as a code of :data:`_STATUS_CODES`: outside (a hospital in no consortium), other
    consortium (another consortium's member, or any member without a designation), designated (a county-tier member
    of the designated consortium, the designated township or village), else in consortium."""
    return ibis.cases(
        (outside, _OUTSIDE),
        (designated_consortium.isnull() | (consortium != designated_consortium), _OTHER),
        (county | (inst_id == township) | (inst_id == village), _DESIGNATED),
        else_=_IN_CONSORTIUM,
    ).cast("int64")


def row_name(status: ir.IntegerValue, *, county: ir.IntegerValue, tertiary: ir.IntegerValue) -> ir.IntegerValue:
    """The benefit row (待遇档次) as an index of ``ROW_NAMES``: 2 x status + (county tier) for designated and
    in_consortium, 4 + (level 3) for outside and other consortium (an emergency there pays as outside)."""
    return ibis.ifelse(status >= _OTHER, 4 + tertiary, 2 * status + county).cast("int64")


def has_benefit(status: ir.IntegerValue, *, unreasonable: ir.BooleanValue,
                emergency: ir.BooleanValue) -> ir.BooleanValue:
    """Whether the claim is paid at all (有待遇): not unreasonable, not at another consortium unless an emergency."""
    return ~unreasonable & ((status != _OTHER) | emergency)


def is_flat_copay(row: ir.IntegerValue, *, inpatient: ir.BooleanValue, policy: BenefitPolicy) -> ir.BooleanValue:
    """Whether the claim is paid as a flat copay (定额自付): outpatient care on a row of flat copay (a test of
    membership, cheaper than a lookup per claim)."""
    flat_rows = [k for k, n in enumerate(ROW_NAMES) if _row(policy, k).outpatient_flat_copay]
    return ~inpatient & row.isin(flat_rows) if flat_rows else ibis.literal(False)


def fund_rate(policy: BenefitPolicy, row: ir.IntegerValue, *, inpatient: ir.BooleanValue,
              employee: ir.BooleanValue) -> ir.IntegerValue:
    """The fund rate (报销比例) in basis points by (row, inpatient, employee): code 4 x row + 2 x inpatient +
    employee."""
    rates = {4 * k + 2 * ip + emp: policy.fund_rate(_row(policy, k), inpatient=bool(ip), insurance=ins)
             for k in range(len(ROW_NAMES)) for ip in (0, 1)
             for emp, ins in ((0, Insurance.RESIDENT), (1, Insurance.EMPLOYEE))}
    return _lookup(4 * row + 2 * inpatient.cast("int64") + employee.cast("int64"), rates)


def flat_copay(covered: ir.IntegerValue, policy: BenefitPolicy) -> ir.IntegerValue:
    """The fund payment of a flat copay (定额自付): C less the copay, never below 0."""
    return covered - ibis.least(covered, policy.flat_copay)


def deductible(covered: ir.IntegerValue, due: ir.IntegerValue) -> ir.IntegerValue:
    """The deductible applied (起付线): what is due, never more than the covered cost C."""
    return ibis.least(covered, due)


def inpatient_deductible(covered: ir.IntegerValue, row_deductible: ir.IntegerValue) -> ir.IntegerValue:
    """The inpatient deductible applied (住院起付线, per admission): the row's, at most C."""
    return deductible(covered, row_deductible)


def continuous_deductible(covered: ir.IntegerValue, row_deductible: ir.IntegerValue,
                          referring: ir.IntegerValue) -> ir.IntegerValue:
    """The deductible applied on a referred admission (连续计算起付线): the row's less the referring admission's
    deductible, never below 0, at most C."""
    return deductible(covered, ibis.greatest(_ZERO, row_deductible - referring))


def outpatient_deductible(t: ir.Table, levels: list[int], *, person: tuple[str, ...] = ("person_id",),
                          tiebreak: str = "claim_id") -> ir.Table:
    """t + _ded_op, the outpatient deductible (门诊起付线, per person-year) each claim applies, from the claims'
    _d_op (the row's deductible, 0 for none) and _c (C) in (admit_date, claim_id) order per person (``person``,
    ``tiebreak``: the columns that stand for the person and the claim_id, :func:`_running`).

    The running applied total S follows S_i = max(S_{i-1}, min(D_i, S_{i-1} + C_i)), which with several row
    deductibles d_1 < ... < d_m (``levels``) is not one running sum. It is m running sums: S^(k) = min(S, d_k) =
    min(d_k, cumsum x^(k)) where x^(k)_j = C_j for claims with D_j >= d_k and the increment of S^(k-1) at j
    otherwise (S^(0) = 0); a claim applies the increment of S^(m). Claims with _d_op = 0 apply none and move no
    running sum (their x is 0 at every level): callers leave them out where they can."""
    if not levels:
        return t.mutate(_ded_op=ibis.literal(0, "int64"))
    acc = t.mutate(_inc0=ibis.literal(0, "int64"))
    prev = "_inc0"
    for k, d in enumerate(levels, start=1):
        x = f"_x{k}"
        acc = acc.mutate(**{x: ibis.ifelse(acc._d_op >= d, acc._c, acc[prev])})
        cum = _running(acc, x, person=person, tiebreak=tiebreak)
        acc = acc.mutate(**{f"_inc{k}": ibis.least(d, cum) - ibis.least(d, cum - acc[x])})
        prev = f"_inc{k}"
    ded = ibis.ifelse(acc._d_op > 0, deductible(acc._c, acc[prev]), ibis.literal(0, "int64"))
    acc = acc.mutate(_ded_op=ded.cast("int64"))
    return acc.select(*t.columns, "_ded_op")


def rated_fund(covered: ir.IntegerValue, deductible_applied: ir.IntegerValue,
               rate_bp: ir.IntegerValue) -> ir.IntegerValue:
    """The fund payment by rate (按比例报销): (C - deductible) x rate, half-up to the fen."""
    return _half_up(covered - deductible_applied, rate_bp)


def annual_cap(fund: ir.IntegerValue, cumulative: ir.IntegerValue, cap: ir.IntegerValue) -> ir.IntegerValue:
    """The fund payment after the annual cap (年度最高支付限额): capped cumulative = min(cap, cumulative fund, this
    claim included); a claim pays its increment (what was left of the cap, at most its own payment)."""
    return (ibis.least(cap, cumulative) - ibis.least(cap, cumulative - fund)).cast("int64")


def rule(status: ir.IntegerValue, *, paid: ir.BooleanValue, unreasonable: ir.BooleanValue,
         inpatient: ir.BooleanValue, continuous: ir.BooleanValue, flat: ir.BooleanValue,
         two_disease: ir.BooleanValue | None = None) -> ir.IntegerValue:
    """The rule deciding the claim before the annual cap, as an index of :data:`_RULES`, first match:
    unreasonable, no benefit, an emergency at another consortium, a referred admission, an admission, a flat
    copay, the two-disease benefit, an outpatient claim."""
    td = ibis.literal(False) if two_disease is None else two_disease
    return ibis.cases(
        (unreasonable, _RULES.index(Rule.UNREASONABLE)),
        (~paid, _RULES.index(Rule.NO_BENEFIT)),
        (status == _OTHER, _RULES.index(Rule.EMERGENCY_AS_OUTSIDE)),
        (inpatient & continuous, _RULES.index(Rule.CONTINUOUS_DEDUCTIBLE)),
        (inpatient, _RULES.index(Rule.INPATIENT)),
        (flat, _RULES.index(Rule.FLAT_COPAY)),
        (td, _RULES.index(Rule.TWO_DISEASE)),
        else_=_RULES.index(Rule.OUTPATIENT),
    ).cast("int64")


def two_disease_applies(status: ir.IntegerValue, *, county: ir.IntegerValue, paid: ir.BooleanValue,
                        inpatient: ir.BooleanValue, flat: ir.BooleanValue, employee: ir.BooleanValue,
                        registered_on: ir.DateValue | None, admit_date: ir.DateValue,
                        policy: TwoDiseasePolicy) -> ir.BooleanValue:
    """Whether the two-disease benefit may pay the claim (两病用药保障): an outpatient claim with a benefit, not on a
    row of flat copay, of a listed insurance, at a listed status and tier (``county``: 1 for a county-tier
    institution, else primary), of a person registered for its disease before its day (``registered_on`` None: that
    last test left to the caller, :func:`registered_before`)."""
    if not policy.enabled:
        return ibis.literal(False)
    codes = [k for k, s in enumerate(_STATUS_CODES) if s.value in policy.statuses]
    tiers = [t for t, name in ((0, "primary"), (1, "county")) if name in policy.tiers]
    ins = ibis.ifelse(employee, ibis.literal(Insurance.EMPLOYEE.value), ibis.literal(Insurance.RESIDENT.value))
    ok = paid & ~inpatient & ~flat & status.isin(codes) & county.isin(tiers) & ins.isin(list(policy.insurance))
    return ok if registered_on is None else ok & registered_before(registered_on, admit_date)


def registered_before(registered_on: ir.DateValue, admit_date: ir.DateValue) -> ir.BooleanValue:
    """The two-disease registration's part of :func:`two_disease_applies`: registered for the disease (the day of the
    person's first claim of it) before the claim's day."""
    return (registered_on < admit_date).fill_null(False)


def two_disease_fund(covered: ir.IntegerValue, cumulative: ir.IntegerValue,
                     policy: TwoDiseasePolicy) -> ir.IntegerValue:
    """The two-disease benefit's payment: C x its rate half-up (``covered``'s share), at most what its yearly cap left
    (``cumulative``: the running total of those shares, this claim's included), as :func:`annual_cap`."""
    return annual_cap(_half_up(covered, ibis.literal(policy.rate, "int64")), cumulative,
                      ibis.literal(policy.yearly_cap, "int64"))


def _row(policy: BenefitPolicy, k: int) -> BenefitRow:
    """The benefit row of code ``k`` (an index of ROW_NAMES)."""
    row: BenefitRow = getattr(policy, ROW_NAMES[k])
    return row


def _half_up(amount: ir.IntegerValue, rate_bp: ir.IntegerValue) -> ir.IntegerValue:
    """amount x rate_bp / 10000 rounded half-up to the fen, in integers (amount >= 0)."""
    return ((amount * rate_bp * 2 + BP) // (2 * BP)).cast("int64")


def _lookup(code: ir.IntegerValue, values: dict[int, int]) -> ir.IntegerValue:
    """CASE code WHEN k THEN v ... ELSE 0 (a simple CASE over small integers is cheap on every backend)."""
    return code.cases(*((k, ibis.literal(v, "int64")) for k, v in values.items()), else_=ibis.literal(0, "int64"))


def _running(t: ir.Table, column: str, *, person: tuple[str, ...] = ("person_id",),
             tiebreak: str = "claim_id") -> ir.IntegerValue:
    """Running total of ``column`` per person in (admit_date, claim_id) order, this row included. ``person``: the
    columns that tell the persons apart (by default person_id; the person's number and the id of a person without
    one, :func:`_keyed`); ``tiebreak``: a column in the order of claim_id (by default claim_id itself)."""
    w = ibis.cumulative_window(group_by=[t[c] for c in person], order_by=[t.admit_date, t[tiebreak]])
    return t[column].sum().over(w)


def _status_text(code: ir.IntegerValue) -> ir.StringValue:
    """The network status name of a _status code."""
    return code.cases(*enumerate(STATUS_NAMES), else_=ibis.null("string"))


def _rule_text(code: ir.IntegerValue) -> ir.StringValue:
    """The rule name of a rule code."""
    return code.cases(*enumerate(RULE_NAMES), else_=ibis.null("string"))


# ============================================================================================= a claim's inputs
# The rules applied to the claims' columns: what each claim is known to be before any running sum.


def _classify(t: ir.Table, institutions: ir.Table, policy: BenefitPolicy) -> ir.Table:
    """Claims + _status (:func:`network_status`), _row (:func:`row_name`), _pays (:func:`has_benefit`), the
    flat copay, the rate and the row's deductibles, as integers (cheap to carry through windows).

    ``t`` carries _emp (employee insurance) and the designation that applies to the claim as _dcons, _dtown, _dvil
    (null when there is none)."""
    cons = institutions.consortium_id.nullif("")
    inst = institutions.select(
        inst_id=institutions.inst_id, _cons=cons,
        _outside=cons.isnull() | (institutions.tier == Tier.OUTSIDE),
        _county=(institutions.tier == Tier.COUNTY).cast("int64"),
        _tert=(institutions.level.cast("int64").fill_null(0) >= 3).cast("int64"))
    j = t.left_join(inst, "inst_id").drop("inst_id_right")
    j = j.mutate(_status=network_status(
        outside=j._outside.fill_null(True), consortium=j._cons, designated_consortium=j._dcons,
        county=j._county == 1, inst_id=j.inst_id, township=j._dtown, village=j._dvil))
    employee = j._emp.fill_null(False)
    unreasonable = j.unreasonable.fill_null(False)
    pays = has_benefit(j._status, unreasonable=unreasonable, emergency=j.emergency.fill_null(False))
    j = j.mutate(_row=row_name(j._status, county=j._county, tertiary=j._tert), _pays=pays,
                 _inp=j.setting == Setting.INPATIENT, _unr=unreasonable, _emp=employee)
    # _td: the two-disease benefit's payment of a claim it pays (found first, :func:`_two_disease_table`)
    td = j._td.notnull() & j._pays if "_td" in j.columns else ibis.literal(False)
    j = j.mutate(_istd=td)
    outpatient = j._pays & ~j._inp & ~j._istd
    rows = [_row(policy, k) for k in range(len(ROW_NAMES))]
    # rows of an outpatient deductible: a test of membership, cheaper than a lookup per claim
    accruing = [k for k, r in enumerate(rows) if not r.outpatient_flat_copay and r.outpatient_deductible > 0]
    return j.mutate(
        _flat=j._pays & is_flat_copay(j._row, inpatient=j._inp, policy=policy),
        _rate=fund_rate(policy, j._row, inpatient=j._inp, employee=j._emp),
        _cap=ibis.ifelse(j._emp, policy.annual_cap(Insurance.EMPLOYEE),
                         policy.annual_cap(Insurance.RESIDENT)).cast("int64"),
        # _accrues: the claim accrues an outpatient deductible (_d_op > 0)
        _accrues=outpatient & j._row.isin(accruing) if accruing else ibis.literal(False),
        _d_op=ibis.ifelse(outpatient & j._row.isin(accruing),
                          _lookup(j._row, {k: r.outpatient_deductible for k, r in enumerate(rows)}), _ZERO)
        if accruing else _ZERO,
        _d_ip=ibis.ifelse(j._pays & j._inp, _lookup(j._row, {k: r.inpatient_deductible for k, r in enumerate(rows)}),
                          _ZERO),
        _c=j.covered_cost.cast("int64"),
    )


def _with_inpatient_deductible(base: ir.Table) -> ir.Table:
    """base (with _cont_ded, the continuous deductible of a referred admission, else null) + _cont and _ded_ip (the
    inpatient deductible: :func:`continuous_deductible` resolved beforehand, else :func:`inpatient_deductible`)."""
    return base.mutate(_cont=base._cont_ded.notnull(),
                       _ded_ip=base._cont_ded.fill_null(inpatient_deductible(base._c, base._d_ip))).drop("_cont_ded")


def _before_running_sums(base: ir.Table) -> ir.Table:
    """What is known before the running sums: the rule (:func:`rule`, but the cap), the payment kind, a deductible
    not accrued (0 without benefit and for a flat copay, the inpatient one, else null: the outpatient one to come)."""
    kind = ibis.cases((~base._pays, _NOTHING), (base._flat, _FLAT), (base._istd, _TWO_DISEASE),
                      else_=_RATED).cast("int64")
    fixed_ded = ibis.cases((~base._pays | base._flat | base._istd, ibis.literal(0, "int64")),
                           (base._inp, base._ded_ip.cast("int64")), else_=ibis.null("int64"))
    return base.mutate(_rule0=rule(base._status, paid=base._pays, unreasonable=base._unr, inpatient=base._inp,
                                   continuous=base._cont, flat=base._flat, two_disease=base._istd),
                       _kind=kind, _fixed=fixed_ded)


def _fund_before_cap(t: ir.Table, policy: BenefitPolicy) -> ir.Table:
    """t (with _ded_op) + deductible and _f0, the fund payment before the annual cap: nothing, :func:`flat_copay`
    or :func:`rated_fund`, never below 0."""
    t = t.mutate(deductible=t._fixed.fill_null(t._ded_op).cast("int64"))
    fund0 = ibis.cases(
        (t._kind == _NOTHING, ibis.literal(0, "int64")),
        (t._kind == _FLAT, flat_copay(t._c, policy)),
        (t._kind == _TWO_DISEASE, t._td.cast("int64")),
        else_=rated_fund(t._c, t.deductible, t._rate),
    )
    return t.mutate(_f0=ibis.greatest(ibis.literal(0, "int64"), fund0).cast("int64"))


def _capped(t: ir.Table) -> ir.Table:
    """t + fund_paid: :func:`annual_cap` over the running total of the fund payments before the cap."""
    return t.mutate(fund_paid=annual_cap(t._f0, _running(t, "_f0"), t._cap))


def _who(persons: ir.Table, designations: ir.Table, year: int) -> ir.Table:
    """person_id, _emp (employee insurance) and the year's designation (_dcons, _dtown, _dvil): one join."""
    d = designations.filter(designations.year == year)
    d = d.select(_dp=d.person_id, _dcons=d.consortium_id, _dtown=d.township_id, _dvil=d.village_id)
    p = persons.select(person_id=persons.person_id, _emp=persons.insurance == Insurance.EMPLOYEE)
    j = p.left_join(d, p.person_id == d._dp)
    return j.select("person_id", "_emp", "_dcons", "_dtown", "_dvil")


# ============================================================================================= referrals
# The referred admissions and their continuous deductibles: few, found first, as small tables.

def _edges_with_nodes(claims: ir.Table, policy: BenefitPolicy, year: int) -> ir.Table:
    """Qualifying referrals (claim_id referred by _ref) among the admissions up to ``year``, each with the decision
    inputs of both admissions (columns of :data:`_DECISION_INPUTS`, the referrer's prefixed ``_r_``).

    A referral counts when the referring claim is an admission of the same person, applied earlier in (admit_date,
    claim_id) order, and discharged 0 to ``continuous_deductible_days`` days before this admission."""
    _, hi = _year_bounds(year)
    inp = claims.filter((claims.setting == Setting.INPATIENT) & (claims.admit_date <= hi))
    a = inp.filter(inp.referral_from.notnull() & (inp.referral_from != ""))
    a = a.select(*_DECISION_INPUTS, "referral_from")
    r = inp.select(_rdis=inp.discharge_date, **{f"_r_{c}": inp[c] for c in _DECISION_INPUTS})
    days = ibis.interval(days=policy.continuous_deductible_days)
    e = a.join(r, [a.referral_from == r._r_claim_id, a.person_id == r._r_person_id,
                   (r._r_admit_date < a.admit_date)
                   | ((r._r_admit_date == a.admit_date) & (r._r_claim_id < a.claim_id)),
                   r._rdis <= a.admit_date, r._rdis >= a.admit_date - days])
    return e.select(*_DECISION_INPUTS, *(f"_r_{c}" for c in _DECISION_INPUTS))


def _split_edges(found: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The result of :func:`_edges_with_nodes` as the edges (claim_id, _ref) and the admissions on either end of
    them (:data:`_DECISION_INPUTS`, each claim once)."""
    edges = pa.table({"claim_id": found.column("claim_id"), "_ref": found.column("_r_claim_id")})
    node = list(_DECISION_INPUTS)
    ends = pa.concat_tables([found.select(node), found.select([f"_r_{c}" for c in node]).rename_columns(node)])
    codes = ends.column("claim_id").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)  # where each claim first appears
    return edges, ends.take(pa.array(first))


def _depth(edges: pa.Table) -> int:
    """The longest chain of referrals among edges (claim_id referred by _ref) at hand (edges point to earlier
    admissions, so there is no cycle; a chain is followed at most as many steps as there are edges)."""
    if edges.num_rows == 0:
        return 0
    both = pa.chunked_array([*edges.column("claim_id").chunks, *edges.column("_ref").chunks]).combine_chunks()
    encoded = both.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    child, parent = codes[: edges.num_rows], codes[edges.num_rows:]
    up = np.full(len(encoded.dictionary), -1, dtype=np.int64)
    up[child] = parent
    at, steps = child, 0  # every admission that has a referrer, moved one step up the chains at a time
    while at.size and steps <= edges.num_rows:
        at = up[at]
        at = at[up[at] >= 0]
        steps += 1
    return steps


def _referral_nodes(nodes: ir.Table, persons: ir.Table, designations: ir.Table, institutions: ir.Table,
                    policy: BenefitPolicy, year: int) -> ir.Table:
    """The admissions on either end of a referral (``nodes``, :data:`_DECISION_INPUTS`), classified with the
    designation of their own year (else the year's): claim_id -> _d (row deductible, 0 without benefit) and _c
    (covered cost). Only their persons' rows of persons and designations are joined (a few, not the province's)."""
    nodes = nodes.mutate(_dyear=nodes.admit_date.year().cast("int64"))
    mine = designations.filter(designations.person_id.isin(nodes.person_id))
    d = mine.select(_dp=mine.person_id, _dy=mine.year.cast("int64"), _c1=mine.consortium_id,
                    _t1=mine.township_id, _v1=mine.village_id)
    j = nodes.left_join(d, [nodes.person_id == d._dp, nodes._dyear == d._dy])
    y = mine.filter(mine.year == year)
    y = y.select(_yp=y.person_id, _yc=y.consortium_id, _yt=y.township_id, _yv=y.village_id)
    j = j.left_join(y, j.person_id == y._yp)
    p = persons.filter(persons.person_id.isin(nodes.person_id))
    p = p.select(_pp=p.person_id, _emp=p.insurance == Insurance.EMPLOYEE)
    j = j.left_join(p, j.person_id == p._pp)
    known = j._pp.notnull()  # the year's designation counts for a person of persons, as in :func:`_who`
    j = j.mutate(_dcons=j._c1.fill_null(ibis.ifelse(known, j._yc, ibis.null("string"))),
                 _dtown=j._t1.fill_null(ibis.ifelse(known, j._yt, ibis.null("string"))),
                 _dvil=j._v1.fill_null(ibis.ifelse(known, j._yv, ibis.null("string"))))
    cls = _classify(j, institutions, policy)
    return cls.select(_nid=cls.claim_id, _nd=cls._d_ip, _nc=cls._c)


def _continuous_deductibles(edges: ir.Table, nodes: ir.Table, depth: int) -> ir.Table:
    """claim_id -> deductible of every referred admission: min(C, max(0, D - deductible of the referrer)), the
    referrer's own deductible resolved the same way, ``depth`` times."""
    e = edges.join(nodes, edges.claim_id == nodes._nid).select("claim_id", "_ref", _d="_nd", _c="_nc")
    rn = nodes.select(_rid=nodes._nid, _rd=nodes._nd, _rc=nodes._nc)
    e = e.join(rn, e._ref == rn._rid).select("claim_id", "_ref", "_d", "_c", _ref_base=ibis.least(rn._rc, rn._rd))
    cur = e.mutate(_ded=inpatient_deductible(e._c, e._d))
    for _ in range(depth):
        prev = cur.select(_pid=cur.claim_id, _pded=cur._ded)
        j = e.left_join(prev, e._ref == prev._pid)
        ref_ded = j._pded.fill_null(j._ref_base)
        cur = j.select(claim_id=j.claim_id, _ref=j._ref, _d=j._d, _c=j._c, _ref_base=j._ref_base,
                       _ded=continuous_deductible(j._c, j._d, ref_ded))
    return cur.select(_cid=cur.claim_id, _cont_ded=cur._ded)


# ============================================================================================= the passes
# How the work is split: the over-cap persons' claims decided first, the accruing outpatient deductibles next, every
# other claim in one main pass. Nothing here decides a benefit: it only calls the rules above.


def _year_bounds(year: int) -> tuple[ir.DateValue, ir.DateValue]:
    return ibis.literal(date(year, 1, 1)), ibis.literal(date(year, 12, 31))


def _in_year(t: ir.Table, year: int) -> ir.BooleanValue:
    lo, hi = _year_bounds(year)
    return (t.admit_date >= lo) & (t.admit_date <= hi)


@dataclass(frozen=True)
class _OverCap:
    """The persons whose claims could reach the annual cap: on DuckDB their buckets (``members._b``), on Spark
    their ids (``members._tp``), None when there is nobody; ``null_big``: the claims without a person could too."""

    members: ir.Table | None
    by_bucket: bool
    null_big: bool

    @property
    def anyone(self) -> bool:
        return self.members is not None or self.null_big

    def reach(self, t: ir.Table) -> ir.BooleanValue:
        """The rows of ``t`` (with person_id) of persons who could reach the cap."""
        if self.members is None:
            return ibis.literal(False)
        if self.by_bucket:  # a semi-join: DuckDB tests a long IN list value by value
            return _bucket(t.person_id).isin(self.members._b)
        return t.person_id.isin(self.members._tp)

    def mine(self, t: ir.Table) -> ir.BooleanValue:
        """The claims of the persons who could reach the cap (and those without a person when they could)."""
        some = self.reach(t)
        return some | t.person_id.isnull() if self.null_big else some


def _over_cap(con: BaseBackend, claims: ir.Table, policy: BenefitPolicy, year: int) -> _OverCap:
    """Who could reach the cap: one query (on DuckDB a sum per bucket of persons, a province's search in half the
    time of a GROUP BY person)."""
    if con.name == "duckdb":
        hot, null_big = _hot_buckets(claims.filter(_in_year(claims, year)), policy)
        return _OverCap(ibis.memtable(hot) if hot.num_rows else None, True, null_big)
    big, null_big = _over_cap_persons(claims.filter(_in_year(claims, year)), policy)
    return _OverCap(_small_table(con, big) if big.num_rows else None, False, null_big)


@dataclass(frozen=True)
class _Passes:
    """What every pass over the claims reads: the inputs, the columns carried (``carry``: the decision inputs, the
    columns wanted and the payment's inputs) and kept (``keep``), and the small tables found on the way: the
    continuous deductibles (``cont``, claim_id as _cid) and the coded designations (``places``, :func:`_coded`)."""

    institutions: ir.Table
    policy: BenefitPolicy
    year: int
    wanted: list[str]
    designated: bool
    carry: list[str]
    keep: list[str]
    cont: ir.Table | None = None
    places: ir.Table | None = None
    td: ir.Table | None = None
    coded: bool = False  # network_status and rule as their codes (STATUS_NAMES, RULE_NAMES), not their names
    keys: _Keys | None = None  # the integer keys of the classified claims (:func:`_keyed`), None: their ids
    place_codes: bool = False  # the designation handed back as its code in ``places`` (_dk), not as its three names
    row: str | None = None  # a column numbering the claims (each its own), read by every pass: the two-disease key


@dataclass(frozen=True)
class _Keys:
    """What stands for the ids in the year's claims classified once (``adjudicate(..., classified=...)``): ``row``,
    a column numbering the claims (each once), looks up their deductibles instead of claim_id; the persons are told
    apart by their number in the persons (_pn) and, for a person missing from them, the person_id (_pid, null for
    every other); ``ordered``: the row numbers are in the order of claim_id (the running sums' tie-break)."""

    row: str
    ordered: bool

    @property
    def person(self) -> tuple[str, ...]:
        return ("_pn", "_pid")

    @property
    def tiebreak(self) -> str:
        return self.row if self.ordered else "claim_id"


def _year_claims(p: _Passes, source: ir.Table, where: Callable[[ir.Table], ir.BooleanValue] | None = None, *,
                 admissions: bool = True) -> ir.Table:
    """The claims of the year in ``source`` (``where`` them), the columns carried and _cont_ded. Each pass's own
    filter applies to the claims as they are read (Parquet skips what it can)."""
    in_year = _in_year(source, p.year)
    t = source.filter(in_year if where is None else in_year & where(source)).select(*p.carry)
    if p.td is not None:  # only outpatient claims look for a two-disease payment (by row number when numbered)
        ident = t[p.row or "claim_id"]
        tkey = ibis.ifelse(t.setting != Setting.INPATIENT, ident, ibis.null(ident.type()))
        t = t.left_join(p.td, tkey == p.td._tid).drop("_tid")
    else:
        t = t.mutate(_td=ibis.null("int64"))
    if p.cont is None or not admissions:
        return t.mutate(_cont_ded=ibis.null("int64"))
    # only admissions look for a continuous deductible: the others' null key skips the hash probe
    key = ibis.ifelse(t.setting == Setting.INPATIENT, t.claim_id, ibis.null("string"))
    return t.left_join(p.cont, key == p.cont._cid).drop("_cid")


def _classified(p: _Passes, t: ir.Table, people: ir.Table) -> ir.Table:
    """The claims ``t`` joined with their persons (``people``, coded or not) and classified."""
    j = t.left_join(people, "person_id").drop("person_id_right")
    if "_dk" in people.columns:  # coded designations (:func:`_coded`): their names from the small table
        assert p.places is not None
        j = j.left_join(p.places, j._dk == p.places._k).drop(*(("_k",) if p.place_codes else ("_dk", "_k")))
    return _classify(j, p.institutions, p.policy)


def _prepared(p: _Passes, t: ir.Table, people: ir.Table) -> ir.Table:
    """The claims ``t`` with everything known before the running sums, on the columns the passes need."""
    c = _before_running_sums(_with_inpatient_deductible(_classified(p, t, people)))
    return c.select(*dict.fromkeys([*p.keep, "claim_id", "person_id", "admit_date", "_d_op", "_accrues",
                                    *(["_big"] if "_big" in c.columns else []),
                                    *(["_pn"] if p.keys is not None and "_pn" in c.columns else [])]))


def _finish(p: _Passes, t: ir.Table, **extra: ir.Value) -> ir.Table:
    """The output columns of ``t`` (decided: deductible, _f0 before the cap, fund_paid), then ``extra``."""
    fund = t.fund_paid
    code = ibis.ifelse(fund < t._f0, _RULES.index(Rule.ANNUAL_CAP), t._rule0)
    status, code = (t._status.cast("int64"), code.cast("int64")) if p.coded else (_status_text(t._status),
                                                                                    _rule_text(code))
    return t.select(*p.wanted, network_status=status, deductible=t.deductible.cast("int64"),
                    fund_paid=fund.cast("int64"), patient_paid=(t.total_cost.cast("int64") - fund).cast("int64"),
                    rule=code, **_designation_columns(p, t), **extra)


def _designation_columns(p: _Passes, t: ir.Table) -> dict[str, ir.Value]:
    """What ``adjudicate(..., designated=True)`` adds: the three names (:data:`DESIGNATED_COLUMNS`), or with
    ``place_codes`` their code (:data:`DESIGNATION_CODE`, a row of the places table)."""
    if not p.designated:
        return {}
    if p.place_codes:
        return {DESIGNATION_CODE: t._dk}
    return dict(zip(DESIGNATED_COLUMNS, (t._dcons, t._dtown, t._dvil)))


def _continuous_table(con: BaseBackend, early: ir.Table, persons: ir.Table, designations: ir.Table,
                      institutions: ir.Table, policy: BenefitPolicy, year: int,
                      referral_depth: int | None) -> ir.Table | None:
    """The continuous deductibles of the referred admissions (claim_id as _cid, _cont_ded) as a small table, None
    without any referral."""
    pairs, ends = _split_edges(to_arrow(_edges_with_nodes(early, policy, year)))
    depth = _depth(pairs) if referral_depth is None else referral_depth
    if depth <= 0 or not pairs.num_rows:
        return None
    e = _small_table(con, pairs)
    nodes = _referral_nodes(_small_table(con, ends), persons, designations, institutions, policy, year)
    return _small_table(con, to_arrow(_continuous_deductibles(e, nodes, depth)))


def _two_disease_table(con: BaseBackend, p: _Passes, claims: ir.Table, this: ir.Table,
                       who: ir.Table) -> ir.Table | None:
    """The claims the two-disease benefit pays and what it pays (claim_id as _tid, _td) as a small table, None when
    the benefit is off. Read from the claims that could be for it only: the year's outpatient claims with a
    diagnosis of the two diseases, of persons registered for it by an earlier claim (the registry: the first claim
    of each person and disease up to the year's end, a GROUP BY over those claims alone), classified and run through
    the yearly cap's running sum; a claim is paid by the benefit while the cap had room before it."""
    td = p.policy.two_disease
    if not td.enabled or "diagnosis" not in claims.columns:
        return None
    _, hi = _year_bounds(p.year)

    # the disease of each distinct diagnosis (a few dozen codes, a few thousand at most), decided once: the claims
    # join it instead of trimming, upper-casing and cutting every claim's code (on DuckDB the string functions over
    # every claim, twice, were most of this query's time)
    # (the distinct codes fetched first: a filter on their disease would be pushed below the DISTINCT, onto every
    # claim)
    codes = to_arrow(claims.filter(claims.diagnosis.notnull()).select("diagnosis").distinct())
    dx = _small_table(con, codes.cast(pa.schema([("diagnosis", pa.string())])))
    dx = dx.select(_dx=dx.diagnosis, _dis=ibis.cases((icd_expr(dx.diagnosis, td.hypertension_icd), 1),
                                                     (icd_expr(dx.diagnosis, td.diabetes_icd), 2),
                                                     else_=ibis.null("int64")).cast("int64"))
    dx = _materialized(con, dx.filter(dx._dis.notnull()))

    def with_disease(t: ir.Table) -> ir.Table:
        """The claims of t with a diagnosis of the two diseases, + _dis (1 hypertension, 2 diabetes)."""
        return t.join(dx, t.diagnosis == dx._dx).drop("_dx")

    # the claims of the two diseases up to the year's end, read once: the registry and the year's claims from them;
    # on DuckDB the scan also keeps only their codes (a list: a few dozen), so that every join after sees those
    # claims alone (DuckDB, which has no estimate of an Arrow table's rows, joined every outpatient claim with the
    # registry, the persons and the institutions before the join with the codes: 4.5 M rows for 0.7 M in a
    # simulator batch of 25 replicates)
    listed = to_arrow(dx.select("_dx")).column(0).to_pylist() if con.name == "duckdb" else None

    def known(t: ir.Table) -> ir.Table:
        k = t.diagnosis.notnull() & (t.admit_date <= hi)
        return with_disease(t.filter(k if listed is None else k & t.diagnosis.isin(listed)))

    # the year's claims the benefit could pay but for the registry first, classified (a few percent of those with
    # the diseases: mostly a row of flat copay or another status stops them), then the registry of their persons
    # alone: the GROUP BY of every claim of the diseases by person, and the classification of every one of the
    # year's, each joined with the registry first, were most of this query's time
    ident = p.row or "claim_id"  # the claims' key in the table: their row number when they are numbered
    c = known(this.select(*dict.fromkeys([*_DECISION_INPUTS, "diagnosis", ident])))
    c = c.filter(_in_year(c, p.year) & (c.setting != Setting.INPATIENT) & ~c.unreasonable.fill_null(False))
    cls = _classified(p, c, who)
    ok = two_disease_applies(cls._status, county=cls._county.fill_null(0), paid=cls._pays, inpatient=cls._inp,
                             flat=cls._flat, employee=cls._emp, registered_on=None, admit_date=cls.admit_date,
                             policy=td)
    cand = _materialized(con, cls.filter(ok).select(*dict.fromkeys(["claim_id", ident, "person_id", "admit_date", "_c",
                                                                     "_dis"])))
    r = known(claims.select("person_id", "admit_date", "diagnosis"))
    r = r.filter(r.person_id.isin(cand.person_id))
    reg = r.group_by(_rp=r.person_id, _rd=r._dis).aggregate(_reg=r.admit_date.min())
    e = cand.join(reg, [cand.person_id == reg._rp, cand._dis == reg._rd])
    e = e.filter(registered_before(e._reg, e.admit_date)).select(*dict.fromkeys(["claim_id", ident, "person_id",
                                                                                  "admit_date", "_c"]))
    e = e.mutate(_s=_half_up(e._c, ibis.literal(td.rate, "int64")))
    e = e.mutate(_cum=_running(e, "_s"))
    e = e.filter(e._cum - e._s < td.yearly_cap)  # the cap had room before the claim: the benefit pays it
    return _materialized(con, e.select(_tid=e[ident], _td=two_disease_fund(e._c, e._cum, td)))


def _over_cap_pass(con: BaseBackend, p: _Passes, early: ir.Table, who: ir.Table, over: _OverCap,
                   levels: list[int]) -> tuple[ir.Table, ir.Table]:
    """The over-cap persons' claims, every one through the deductible's and the cap's running sums, decided now;
    and the persons marked _big (those whose claims were decided: an over-cap person missing from persons gets a
    row of nulls, as the left join with ``who`` would give it)."""
    few = who.filter(over.reach(who))  # a small hash table for few claims
    a = _prepared(p, _year_claims(p, early, over.mine), few)
    decided = to_arrow(_finish(p, _capped(_fund_before_cap(outpatient_deductible(a, levels), p.policy)),
                               _pid=a.person_id))
    pids = pc.unique(decided.column("_pid").combine_chunks().drop_null())
    capped = _small_table(con, decided.drop_columns(["_pid"]))
    ids = _small_table(con, pa.table({"_tp": pids.cast(pa.string())}))
    m = who.outer_join(ids, who.person_id == ids._tp)
    marked = m.select(person_id=m.person_id.fill_null(m._tp), **{c: m[c] for c in who.columns if c != "person_id"},
                      _big=m._tp.notnull())
    return capped, marked


def _accrued_deductibles(con: BaseBackend, p: _Passes, claims: ir.Table, marked: ir.Table, null_big: bool,
                         levels: list[int], prepared: ir.Table | None = None) -> ir.Table:
    """The outpatient deductibles of everyone else's claims that accrue one: the running sums over those claims
    alone, on the five columns they need, decided now; kept (claim_id as _nid -> _nded) where the claims before
    took some of it, i.e. where it is not the whole min(C, D) (a person's first such claim, and those after it while
    the deductible is not reached, are not kept). ``prepared``: the main pass's claims, already classified
    (:func:`_main_claims`), read instead of classifying the claims again."""
    w = prepared if prepared is not None else _uncapped(
        _prepared(p, _year_claims(p, claims, _outpatient_reasonable, admissions=False), marked), null_big)
    k = p.keys if prepared is not None else None  # the integer keys of the claims classified once
    person: tuple[str, ...] = ("person_id",)
    tiebreak, ident = "claim_id", "claim_id"
    if k is not None:
        person, tiebreak, ident = k.person, k.tiebreak, k.row
    w = outpatient_deductible(w.filter(w._accrues).select(*dict.fromkeys([ident, *person, "admit_date", tiebreak,
                                                                          "_d_op", "_c"])),
                              levels, person=person, tiebreak=tiebreak)
    whole = (w._ded_op == deductible(w._c, w._d_op)).fill_null(False)
    return _materialized(con, w.filter(~whole).select(_nid=w[ident], _nded=w._ded_op))


def _outpatient_reasonable(t: ir.Table) -> ir.BooleanValue:
    return (t.setting != Setting.INPATIENT) & ~t.unreasonable.fill_null(False)


def _main_claims(p: _Passes, claims: ir.Table, marked: ir.Table, null_big: bool) -> ir.Table:
    """The claims of the main pass (every claim of the year but the over-cap persons'), classified; with
    ``p.keys``, the ids replaced by integers (:func:`_keyed`)."""
    main = _uncapped(_prepared(p, _year_claims(p, claims), marked), null_big)
    return main if p.keys is None else _keyed(main, p.keys, p.wanted)


def _keyed(t: ir.Table, keys: _Keys, keep: list[str]) -> ir.Table:
    """The classified claims ``t`` (joined with the coded persons: _pn, :func:`_coded`) with their ids replaced by
    integers (``keys``): _pn, and _pid, the person_id of a person missing from the persons (null for the others), in
    place of person_id, the row number in place of claim_id (kept when the row numbers are not in its order). A table
    of the year's claims held with two strings per claim cost more to write and read than its other columns
    together; the running sums sorted and the deductibles' lookup hashed the strings. ``keep``: the columns kept
    whatever they are (those wanted)."""
    drop = ["person_id", "_big", "_cap", *([] if not keys.ordered else ["claim_id"])]  # no cap in the main pass
    t = t.mutate(_pid=ibis.ifelse(t._pn.isnull(), t.person_id, ibis.null("string")))
    return t.drop(*(c for c in drop if c in t.columns and c not in keep))


def _main_pass(p: _Passes, n: ir.Table, deductibles: ir.Table) -> ir.Table:
    """Every other claim once (``n``: :func:`_main_claims`), with the columns wanted: only those that accrue a
    deductible look for theirs."""
    ident = "claim_id" if p.keys is None else p.keys.row
    key = ibis.ifelse(n._accrues, n[ident], ibis.null(n[ident].type()))
    n = n.left_join(deductibles, key == deductibles._nid)
    n = n.mutate(_ded_op=ibis.ifelse(n._nid.notnull(), n._nded, deductible(n._c, n._d_op)))
    n = _fund_before_cap(n, p.policy)
    return _finish(p, n.mutate(fund_paid=n._f0))


def adjudicate(claims: ir.Table, persons: ir.Table, institutions: ir.Table, designations: ir.Table,
               policy: BenefitPolicy, year: int, *, referral_depth: int | None = None,
               ordered: bool = True, designated: bool = False, columns: list[str] | None = None,
               coded: bool = False, year_claims: ir.Table | None = None, classified: str | None = None,
               row_number: str | None = None, rows_in_id_order: bool = False,
               designation_codes: list[ir.Table] | None = None) -> ir.Table:
    """Every claim of ``year`` (by admit_date) with network_status, deductible, fund_paid, patient_paid (int64 fen)
    and rule, after the claims columns (``columns``: those of them wanted, by default all); ordered by claim_id
    (``ordered``, else in no particular order).
    ``designated``: also :data:`DESIGNATED_COLUMNS`, the consortium, township and village the person is designated
    to in ``year`` (null without a designation), which the settlement would otherwise join the designations again
    for (at 100 M claims a second hash join of every charged claim with ten million persons).
    ``coded``: network_status and rule as their codes (int64 indexes of :data:`STATUS_NAMES` and :data:`RULE_NAMES`),
    for a caller in memory to name them in Arrow (cheaper than the engine's strings, then a take of them).
    ``year_claims``: the claims of ``year`` alone (those of ``claims`` admitted in it), when the caller has them
    apart: the passes that read the year's claims only (the cap's search, the two-disease benefit's claims, the
    deductibles, the main pass) read them there, and ``claims`` is read for what earlier years' claims decide (the
    referrals, the two-disease registry). A simulator's batch holds last year's claims beside the year's: each pass
    scanned both.
    ``classified``: for claims in memory on DuckDB, the name of a temporary table that the year's claims are
    classified into once, for both the deductibles' pass and the main pass to read (classifying them in each was
    about a tenth of a simulator batch's time); the caller drops it once the expression is executed. Without it
    (a province's claims, Spark) the claims stream through both passes: held, they would not fit in memory.
    ``row_number``: a column of ``claims`` numbering them (int64, each claim its own) and among ``columns``: the
    two-disease benefit's table is keyed by it and, with ``classified``, the table classified holds it and the
    persons' numbers instead of the ids (:func:`_keyed`);
    ``rows_in_id_order``: the row numbers of the year's claims rise as their claim_id does (no null, no repeat), so
    that they break the running sums' ties instead of claim_id.
    ``designation_codes``: on DuckDB with ``designated``, a list that receives the table of the year's designations
    (_k, and the three names as _dcons, _dtown, _dvil: a few hundred rows); the claims then carry the row's _k as
    :data:`DESIGNATION_CODE` instead of the three names (null for a claim whose person is not among the persons),
    which :func:`decoded` names again. Three text columns per claim cost a Parquet spill of a province's claims more
    to write than their code and a join with a small table costs its readers.

    ``designations`` must hold the year's designation of every person with a claim (earlier years' rows are used for
    referring admissions of earlier years, falling back to the year's). ``referral_depth``: the longest referral
    chain; computed with one small query when not given.

    The claims go three ways (see the module's docstring): the over-cap persons' claims and the deductibles of the
    claims that accrue an outpatient deductible are decided first, by queries of their own (the deductibles on
    DuckDB only: on Spark they stay part of the expression), and the expression returned is the main pass over
    every other claim, with the over-cap persons' decided claims appended.
    """
    wanted = list(claims.columns) if columns is None else list(columns)
    if ordered and "claim_id" not in wanted:
        raise ValueError("an adjudication ordered by claim_id needs claim_id among its columns")
    _, hi = _year_bounds(year)
    who = _who(persons, designations, year)
    levels = outpatient_deductible_levels(policy)
    con = claims.get_backend()
    p = _Passes(institutions, policy, year, wanted, designated, coded=coded,
                carry=list(dict.fromkeys([*_DECISION_INPUTS, *wanted, "total_cost"])),
                keep=[*dict.fromkeys([*wanted, "total_cost"]), *(["_dcons", "_dtown", "_dvil"] if designated else []),
                      "_status", "_rule0", "_kind", "_fixed", "_rate", "_c", "_cap", "_td"])
    # the persons who could reach the cap, the referred admissions and their continuous deductibles are few:
    # found first (small queries), they enter the expression as small tables
    this = claims if year_claims is None else year_claims
    if row_number is not None and row_number in wanted:  # every pass carries it: the two-disease table's key
        p = replace(p, row=row_number)
    over = _over_cap(con, this, policy, year)
    early, temp = claims, None  # what the referrals and the over-cap persons' claims are read from
    if con.name == "duckdb":
        # every pass but the referrals' joins claims with the persons (the two-disease benefit's, the over-cap
        # persons', the deductibles', the main one): decided once, the designation carried as a number
        who, places = _coded(who)
        p = replace(p, places=places)
        if designated and designation_codes is not None:
            p = replace(p, place_codes=True, keep=[c if c != "_dcons" else "_dk" for c in p.keep
                                                   if c not in ("_dtown", "_dvil")])
            designation_codes.append(places)
        # read once, together: the admissions up to the year's end (for the referrals) and those persons' claims
        admissions = (claims.setting == Setting.INPATIENT) & (claims.admit_date <= hi)
        cols = dict.fromkeys([*p.carry, "referral_from", "discharge_date"])  # carry holds the decision inputs
        found = claims.filter(admissions | (_in_year(claims, year) & over.mine(claims)) if over.anyone
                              else admissions)
        temp = f"_early_{next(_names)}"
        early = con.create_table(temp, found.select(*cols), temp=True)
    try:
        p = replace(p, cont=_continuous_table(con, early, persons, designations, institutions, policy, year,
                                              referral_depth))
        p = replace(p, td=_two_disease_table(con, p, claims, this, who))
        capped: ir.Table | None = None
        marked = who.mutate(_big=ibis.literal(False))
        if over.anyone:  # the persons who could reach the cap (few): decided first
            capped, marked = _over_cap_pass(con, p, early, who, over, levels)
    finally:
        if temp is not None:  # the admissions read first: their memory back before the big passes
            con.raw_sql(f'DROP TABLE IF EXISTS "{temp}"')
    once = classified is not None and con.name == "duckdb"
    if once and row_number is not None and row_number in wanted:
        p = replace(p, keys=_Keys(row_number, rows_in_id_order))
    main = _main_claims(p, this, marked, over.null_big)
    if once:
        # in memory: the year's claims classified once (a join with the persons, the designations and the
        # institutions, the network status of every claim) for both passes after, not once for each
        main = con.create_table(classified, main, temp=True)
    deductibles = _accrued_deductibles(con, p, this, marked, over.null_big, levels, prepared=main if once else None)
    out = _main_pass(p, main, deductibles)
    if capped is not None:
        out = out.union(capped)
    return out.order_by("claim_id") if ordered else out


def decoded(t: ir.Table, places: ir.Table) -> ir.Table:
    """An adjudication of ``adjudicate(..., coded=True, designated=True, designation_codes=[places])`` (or a copy of
    it read back: the places table too) with the names of before: network_status and rule named (when there), and
    :data:`DESIGNATION_CODE` as the three :data:`DESIGNATED_COLUMNS` (a join with the small ``places``), in its
    place; every other column as it is. (A code of neither network_status nor rule is never null: the engine
    decides every claim's.)"""
    j = t.left_join(places, t[DESIGNATION_CODE] == places._k)
    named: dict[str, ir.Value] = {}
    for c in t.columns:
        if c == DESIGNATION_CODE:
            named.update(zip(DESIGNATED_COLUMNS, (j._dcons, j._dtown, j._dvil)))
        elif c in ("network_status", "rule"):
            names = STATUS_NAMES if c == "network_status" else RULE_NAMES
            # the last name as the ELSE, not null: a code is never null, and DuckDB then knows the names are not
            # either (when the spill's statistics say so of the codes), as it knew of the names read from a spill
            # of names: adjudicated.parquet declares them required, as it did
            named[c] = j[c].cases(*enumerate(names[:-1]), else_=ibis.literal(names[-1]))
        else:
            named[c] = j[c]
    return j.select(**named)


def _coded(who: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``who`` (person_id, _emp, _dcons, _dtown, _dvil) decided now, on DuckDB, with its designations coded:
    the persons as (person_id, _emp, _dk) and the distinct designations as (_k, _dcons, _dtown, _dvil), a few
    hundred rows. A pass joins a province's claims with ten million persons carrying one number instead of three
    names, and the names with a small table after (about 2 s less per pass at 100 M claims)."""
    a = to_arrow(who)
    names = ("_dcons", "_dtown", "_dvil")
    # a null name is a value of its own ("encode"), so that every designation decodes as it was
    encoded = [a.column(c).combine_chunks().dictionary_encode(null_encoding="encode") for c in names]
    codes = encoded[0].indices.cast(pa.int64())
    steps = []  # (distinct keys, size of the next name's dictionary) to decode the numbers again
    for enc in encoded[1:]:
        n = len(enc.dictionary)
        combined = pc.add(pc.multiply(codes, n), enc.indices.cast(pa.int64())).dictionary_encode()
        steps.append((combined.dictionary.to_numpy(), n))
        codes = combined.indices.cast(pa.int64())  # numbered again: below the number of persons
    # decode the distinct designations: the last key splits into the one before and the last name's index
    at = np.arange(len(steps[-1][0]), dtype=np.int64)
    parts: list[np.ndarray] = []
    for keys, n in reversed(steps):
        parts.insert(0, keys[at] % n)
        at = keys[at] // n
    parts.insert(0, at)
    places = pa.table({"_k": pa.array(np.arange(len(steps[-1][0]), dtype=np.int64)),
                       **{c: enc.dictionary.take(pa.array(idx)) for c, enc, idx in zip(names, encoded, parts)}})
    # _pn: the person's number (:func:`_keyed`)
    people = pa.table({"person_id": a.column("person_id"), "_emp": a.column("_emp"), "_dk": codes,
                       "_pn": pa.array(np.arange(a.num_rows, dtype=np.int64))})
    return ibis.memtable(people), ibis.memtable(places)


def _materialized(con: BaseBackend, expr: ir.Table) -> ir.Table:
    """``expr`` decided now, as a table for the engine, on DuckDB (so that the running sums hold their memory in a
    query of their own, not beside the main pass's); on Spark the expression itself (its driver would hold it)."""
    return ibis.memtable(to_arrow(expr)) if con.name == "duckdb" else expr


def _small_table(con: BaseBackend, table: pa.Table) -> ir.Table:
    """A small Arrow table for the engine: in memory on DuckDB, a temp view on Spark."""
    return ibis.memtable(table) if con.name == "duckdb" else register_arrow(con, table)


def _smaller_cap(policy: BenefitPolicy) -> int:
    """The smaller of the annual caps (resident, employee): below it nobody's fund payments are cut."""
    return min(policy.annual_cap(Insurance.RESIDENT), policy.annual_cap(Insurance.EMPLOYEE))


def _reachable(claims: ir.Table) -> ir.IntegerValue:
    """What a claim can add to a person's fund payments at most: its covered cost (a fund payment never exceeds
    it), 0 when negative."""
    return ibis.greatest(claims.covered_cost.cast("int64"), ibis.literal(0, "int64"))


def _over_cap_persons(claims: ir.Table, policy: BenefitPolicy) -> tuple[pa.Table, bool]:
    """The persons (column _tp) whose covered costs in ``claims`` add up to more than the smaller annual cap, and
    whether the claims without a person do; executes one aggregate query. A claim's fund payment never exceeds its
    covered cost, so nobody else's fund payments can reach the cap."""
    tot = claims.group_by(_tp=claims.person_id).aggregate(_sumc=_reachable(claims).sum())
    big = to_arrow(tot.filter(tot._sumc > _smaller_cap(policy)).select("_tp"))
    null_big = big.column("_tp").null_count > 0
    return big.filter(pc.is_valid(big.column("_tp"))).cast(pa.schema([("_tp", pa.string())])), null_big


_names = itertools.count()  # of the engine's temporary tables
_BUCKET_BITS = 22  # 4 M buckets: 2.4 persons each at 10 M persons, a few hundred buckets reach a cap
_COUNTED_ROWS = 1 << 22  # claims counted into the buckets' sums at a time (:func:`_hot_buckets`)


@ibis.udf.scalar.builtin(name="hash")  # type: ignore[untyped-decorator]
def _duckdb_hash(value: str) -> dt.UInt64:
    """DuckDB's hash of a value (unsigned 64 bits)."""


def _bucket(person_id: ir.StringValue) -> ir.IntegerValue:
    """The bucket of a person on DuckDB: 22 bits of the hash of person_id; the claims without a person have a bucket
    of their own (2^22)."""
    mask = (1 << _BUCKET_BITS) - 1
    return ibis.ifelse(person_id.isnull(), mask + 1, _duckdb_hash(person_id) & mask).cast("int32")


def _hot_buckets(claims: ir.Table, policy: BenefitPolicy) -> tuple[pa.Table, bool]:
    """DuckDB: the buckets of persons (:func:`_bucket`, as column _b) whose covered costs in ``claims`` add up to
    more than the smaller annual cap, and whether the claims without a person do. A person whose claims could reach
    the cap is in a hot bucket (covered costs are not negative in the sum, so a bucket's sum is at least each of its
    persons'); the others' claims cannot reach it. One scan: the sums by bucket are counted in NumPy as the claims
    stream (a GROUP BY person_id would hold a province's persons in a hash table, twice the time)."""
    size = (1 << _BUCKET_BITS) + 1
    sums = np.zeros(size, dtype=np.int64)
    held: list[pa.RecordBatch] = []

    def count() -> None:
        b = np.concatenate([h.column(0).to_numpy(zero_copy_only=False) for h in held])
        w = np.concatenate([h.column(1).to_numpy(zero_copy_only=False) for h in held]).astype(np.float64)
        # bincount weighs in float64: a part's sums are exact below 2^53 fen (90 trillion yuan) and any larger
        # one is far over the cap either way; the totals are kept in integers
        sums[:] += np.bincount(b, weights=w, minlength=size).astype(np.int64)
        held.clear()

    # counted 4 M claims at a time: DuckDB hands a Parquet scan over in batches of a row group (~140 K claims), and
    # each count is a pass over the 4 M buckets (7 M claims of a province: 50 of them, 1.0 CPU s; now 2, 0.5 s)
    rows = 0
    for batch in _duckdb_batches(claims.select(_b=_bucket(claims.person_id), _c=_reachable(claims)), 1 << 22):
        held.append(batch)
        rows += batch.num_rows
        if rows >= _COUNTED_ROWS:
            count()
            rows = 0
    if held:
        count()
    hot = np.flatnonzero(sums > _smaller_cap(policy))
    null_big = bool(hot.size and hot[-1] == size - 1)
    return pa.table({"_b": pa.array(hot[hot != size - 1], pa.int32())}), null_big


def _duckdb_batches(expr: ir.Table, rows: int) -> pa.RecordBatchReader:
    """``expr`` executed on DuckDB as a stream of Arrow batches (Ibis's own ``to_pyarrow_batches`` calls a method
    this DuckDB no longer has)."""
    backend = expr.get_backend()
    backend._run_pre_execute_hooks(expr)  # registers the expression's in-memory tables
    return backend.con.sql(duckdb_sql(expr)).to_arrow_reader(rows)


def _uncapped(t: ir.Table, null_big: bool) -> ir.Table:
    """The claims of t that no cap can reach (all of them when t has no _big column)."""
    if "_big" not in t.columns:
        return t
    keep = ~t._big.fill_null(False)
    return t.filter(keep & t.person_id.notnull() if null_big else keep)
