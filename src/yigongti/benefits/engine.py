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
- the annual cap: capped cumulative = min(cap, cumulative fund); a claim pays its increment.

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
designations are decided once (:func:`_coded`) for the two passes that join every claim with them.
Every window is ordered by (admit_date, claim_id), a total order, so that DuckDB and Spark agree to the fen; the
result is sorted by claim_id at the end unless the caller does not need it (``ordered=False``: a sort of every
column, the costliest step at province scale).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from yigongti.benefits.domain import NetworkStatus, Rule, outpatient_deductible_levels
from yigongti.core.money import BP
from yigongti.core.policy import BenefitPolicy, BenefitRow
from yigongti.core.engine import register_arrow

__all__ = ["DESIGNATED_CONSORTIUM", "OUTPUT_COLUMNS", "adjudicate"]

OUTPUT_COLUMNS = ("network_status", "deductible", "fund_paid", "patient_paid", "rule")
DESIGNATED_CONSORTIUM = "designated_consortium"

_ROWS = ("designated_primary", "designated_county", "in_consortium_primary", "in_consortium_county",
         "outside_secondary", "outside_tertiary")
_S = NetworkStatus


def _half_up(amount: ir.IntegerValue, rate_bp: ir.IntegerValue) -> ir.IntegerValue:
    """amount x rate_bp / 10000 rounded half-up to the fen, in integers (amount >= 0)."""
    return ((amount * rate_bp * 2 + BP) // (2 * BP)).cast("int64")


_STATUS_CODES = (_S.DESIGNATED, _S.IN_CONSORTIUM, _S.OTHER_CONSORTIUM, _S.OUTSIDE)  # _status 0..3
_DESIGNATED, _IN_CONSORTIUM, _OTHER, _OUTSIDE = range(4)
_RULES = tuple(Rule)  # rule codes carried through the windows as integers
_NOTHING, _FLAT, _RATED = range(3)  # payment kinds
_DECISION_INPUTS = ("claim_id", "person_id", "inst_id", "setting", "emergency", "admit_date", "covered_cost",
                    "unreasonable")


def _lookup(code: ir.IntegerValue, values: dict[int, int]) -> ir.IntegerValue:
    """CASE code WHEN k THEN v ... ELSE 0 (a simple CASE over small integers is cheap on every backend)."""
    return code.cases(*((k, ibis.literal(v, "int64")) for k, v in values.items()), else_=ibis.literal(0, "int64"))


def _status_text(code: ir.IntegerValue) -> ir.StringValue:
    """The network status name of a _status code."""
    return code.cases(*((k, s.value) for k, s in enumerate(_STATUS_CODES)), else_=ibis.null("string"))


def _classify(t: ir.Table, institutions: ir.Table, policy: BenefitPolicy) -> ir.Table:
    """Claims + _status (0 designated, 1 in_consortium, 2 other_consortium, 3 outside), the payment kind and the
    benefit row's deductibles and rate, as integers (cheap to carry through windows).

    ``t`` carries _emp (employee insurance) and the designation that applies to the claim as _dcons, _dtown, _dvil
    (null when there is none). Row codes: 2 * status + (county tier) for designated / in_consortium, 4 + (level 3)
    for outside and for an emergency at another consortium."""
    cons = institutions.consortium_id.nullif("")
    inst = institutions.select(
        inst_id=institutions.inst_id, _cons=cons,
        _outside=cons.isnull() | (institutions.tier == "outside"),
        _county=(institutions.tier == "county").cast("int64"),
        _tert=(institutions.level.cast("int64").fill_null(0) >= 3).cast("int64"))
    j = t.left_join(inst, "inst_id").drop("inst_id_right")
    status = ibis.cases(
        (j._outside.fill_null(True), _OUTSIDE),
        (j._dcons.isnull() | (j._cons != j._dcons), _OTHER),
        ((j._county == 1) | (j.inst_id == j._dtown) | (j.inst_id == j._dvil), _DESIGNATED),
        else_=_IN_CONSORTIUM,
    ).cast("int64")
    j = j.mutate(_status=status)
    row = ibis.ifelse(j._status >= _OTHER, 4 + j._tert, 2 * j._status + j._county).cast("int64")
    rows: list[BenefitRow] = [getattr(policy, n) for n in _ROWS]
    employee = j._emp.fill_null(False)
    unreasonable = j.unreasonable.fill_null(False)
    pays = ~unreasonable & ((j._status != _OTHER) | j.emergency.fill_null(False))
    inpatient = j.setting == "inpatient"
    # rate by (row, inpatient, employee): code 4 * row + 2 * inpatient + employee
    rates = {4 * k + 2 * ip + emp: policy.fund_rate(r, inpatient=bool(ip), insurance=ins)
             for k, r in enumerate(rows) for ip in (0, 1) for emp, ins in ((0, "resident"), (1, "employee"))}
    j = j.mutate(_row=row, _pays=pays, _inp=inpatient, _unr=unreasonable, _emp=employee)
    zero = ibis.literal(0, "int64")
    outpatient = j._pays & ~j._inp
    # rows of a flat copay, rows of an outpatient deductible: a test of membership, cheaper than a lookup per claim
    flat_rows = [k for k, r in enumerate(rows) if r.outpatient_flat_copay]
    accruing = [k for k, r in enumerate(rows) if not r.outpatient_flat_copay and r.outpatient_deductible > 0]
    return j.mutate(
        _flat=outpatient & j._row.isin(flat_rows) if flat_rows else ibis.literal(False),
        _rate=_lookup(4 * j._row + 2 * j._inp.cast("int64") + j._emp.cast("int64"), rates),
        _cap=ibis.ifelse(j._emp, policy.annual_cap("employee"), policy.annual_cap("resident")).cast("int64"),
        # _accrues: the claim accrues an outpatient deductible (_d_op > 0)
        _accrues=outpatient & j._row.isin(accruing) if accruing else ibis.literal(False),
        _d_op=ibis.ifelse(outpatient & j._row.isin(accruing),
                          _lookup(j._row, {k: r.outpatient_deductible for k, r in enumerate(rows)}), zero)
        if accruing else zero,
        _d_ip=ibis.ifelse(j._pays & j._inp, _lookup(j._row, {k: r.inpatient_deductible for k, r in enumerate(rows)}),
                          zero),
        _c=j.covered_cost.cast("int64"),
    )


def _who(persons: ir.Table, designations: ir.Table, year: int) -> ir.Table:
    """person_id, _emp (employee insurance) and the year's designation (_dcons, _dtown, _dvil): one join."""
    d = designations.filter(designations.year == year)
    d = d.select(_dp=d.person_id, _dcons=d.consortium_id, _dtown=d.township_id, _dvil=d.village_id)
    p = persons.select(person_id=persons.person_id, _emp=persons.insurance == "employee")
    j = p.left_join(d, p.person_id == d._dp)
    return j.select("person_id", "_emp", "_dcons", "_dtown", "_dvil")




def _edges_with_nodes(claims: ir.Table, policy: BenefitPolicy, year: int) -> ir.Table:
    """Qualifying referrals (claim_id referred by _ref) among the admissions up to ``year``, each with the decision
    inputs of both admissions (columns of :data:`_DECISION_INPUTS`, the referrer's prefixed ``_r_``).

    A referral counts when the referring claim is an admission of the same person, applied earlier in (admit_date,
    claim_id) order, and discharged 0 to ``continuous_deductible_days`` days before this admission."""
    _, hi = _year_bounds(year)
    inp = claims.filter((claims.setting == "inpatient") & (claims.admit_date <= hi))
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
    p = p.select(_pp=p.person_id, _emp=p.insurance == "employee")
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
    cur = e.mutate(_ded=ibis.least(e._c, e._d))
    for _ in range(depth):
        prev = cur.select(_pid=cur.claim_id, _pded=cur._ded)
        j = e.left_join(prev, e._ref == prev._pid)
        ref_ded = j._pded.fill_null(j._ref_base)
        cur = j.select(claim_id=j.claim_id, _ref=j._ref, _d=j._d, _c=j._c, _ref_base=j._ref_base,
                       _ded=ibis.least(j._c, ibis.greatest(ibis.literal(0, "int64"), j._d - ref_ded)))
    return cur.select(_cid=cur.claim_id, _cont_ded=cur._ded)


def _year_bounds(year: int) -> tuple[ir.DateValue, ir.DateValue]:
    return ibis.literal(date(year, 1, 1)), ibis.literal(date(year, 12, 31))


def adjudicate(claims: ir.Table, persons: ir.Table, institutions: ir.Table, designations: ir.Table,
               policy: BenefitPolicy, year: int, *, referral_depth: int | None = None,
               ordered: bool = True, designated: bool = False, columns: list[str] | None = None) -> ir.Table:
    """Every claim of ``year`` (by admit_date) with network_status, deductible, fund_paid, patient_paid (int64 fen)
    and rule, after the claims columns (``columns``: those of them wanted, by default all); ordered by claim_id
    (``ordered``, else in no particular order).
    ``designated``: also :data:`DESIGNATED_CONSORTIUM`, the consortium the person is designated to in ``year`` (null
    without a designation), which the settlement would otherwise join the designations again for.

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
    lo, hi = _year_bounds(year)

    def in_year(t: ir.Table) -> ir.BooleanValue:
        return (t.admit_date >= lo) & (t.admit_date <= hi)

    who = _who(persons, designations, year)
    levels = outpatient_deductible_levels(policy)
    con = claims.get_backend()
    # what each pass reads: the decision inputs, the columns wanted and the payment's inputs
    carry = list(dict.fromkeys([*_DECISION_INPUTS, *wanted, "total_cost"]))
    keep = [*dict.fromkeys([*wanted, "total_cost"]), *(["_dcons"] if designated else []),
            "_status", "_rule0", "_kind", "_fixed", "_rate", "_c", "_cap"]

    def classified(t: ir.Table, people: ir.Table) -> ir.Table:
        j = t.left_join(people, "person_id").drop("person_id_right")
        if "_dk" in people.columns:  # coded designations (:func:`_coded`): their names from the small table
            assert places is not None
            j = j.left_join(places, j._dk == places._k).drop("_dk", "_k")
        return _classify(j, institutions, policy)

    # the persons who could reach the cap, the referred admissions and their continuous deductibles are few:
    # found first (small queries), they enter the expression as small tables
    if con.name == "duckdb":  # a sum per bucket of persons: a province's over-cap search in half the time
        hot, null_big = _hot_buckets(claims.filter(in_year(claims)), policy)
        has_reach = hot.num_rows > 0
        buckets = ibis.memtable(hot)

        def reach(t: ir.Table) -> ir.BooleanValue:  # a semi-join: DuckDB tests a long IN list value by value
            return _bucket(t.person_id).isin(buckets._b)
    else:
        big, null_big = _over_cap_persons(claims.filter(in_year(claims)), policy)
        ids = _small_table(con, big)
        has_reach = big.num_rows > 0

        def reach(t: ir.Table) -> ir.BooleanValue:
            return t.person_id.isin(ids._tp)

    def mine(t: ir.Table) -> ir.BooleanValue:  # the claims of the persons who could reach the cap
        some = reach(t) if has_reach else ibis.literal(False)
        return some | t.person_id.isnull() if null_big else some

    def year_claims(where: Callable[[ir.Table], ir.BooleanValue] | None = None, *, admissions: bool = True,
                    source: ir.Table = claims) -> ir.Table:
        # each pass's own filter applies to the claims as they are read (Parquet skips what it can)
        t = source.filter(in_year(source) if where is None else in_year(source) & where(source)).select(*carry)
        if cont is None or not admissions:
            return t.mutate(_cont_ded=ibis.null("int64"))
        # only admissions look for a continuous deductible: the others' null key skips the hash probe
        key = ibis.ifelse(t.setting == "inpatient", t.claim_id, ibis.null("string"))
        return t.left_join(cont, key == cont._cid).drop("_cid")

    def prepared(t: ir.Table, people: ir.Table) -> ir.Table:
        p = _prepared(_continuous(classified(t, people)), policy)
        return p.select(*dict.fromkeys([*keep, "claim_id", "person_id", "admit_date", "_d_op", "_accrues",
                                        *(["_big"] if "_big" in p.columns else [])]))

    def finish(t: ir.Table, **extra: ir.Value) -> ir.Table:
        """The output columns of ``t`` (decided: deductible, _f0 before the cap, fund_paid), then ``extra``."""
        fund = t.fund_paid
        rule = ibis.ifelse(fund < t._f0, _RULES.index(Rule.ANNUAL_CAP), t._rule0)
        return t.select(*wanted, network_status=_status_text(t._status), deductible=t.deductible.cast("int64"),
                        fund_paid=fund.cast("int64"), patient_paid=(t.total_cost.cast("int64") - fund).cast("int64"),
                        rule=rule.cases(*((k, v.value) for k, v in enumerate(_RULES)), else_=ibis.null("string")),
                        **({DESIGNATED_CONSORTIUM: t._dcons} if designated else {}), **extra)

    early = claims  # what the referrals and the over-cap persons' claims are read from
    if con.name == "duckdb":
        # read once, together: the admissions up to the year's end (for the referrals) and those persons' claims
        admissions = (claims.setting == "inpatient") & (claims.admit_date <= hi)
        cols = dict.fromkeys([*carry, "referral_from", "discharge_date"])  # carry holds the decision inputs
        found = claims.filter(admissions | (in_year(claims) & mine(claims)) if has_reach or null_big else admissions)
        temp = f"_early_{next(_names)}"
        early = con.create_table(temp, found.select(*cols), temp=True)
    try:
        pairs, ends = _split_edges(_edges_with_nodes(early, policy, year).to_pyarrow())
        depth = _depth(pairs) if referral_depth is None else referral_depth
        cont = None
        if depth > 0 and pairs.num_rows:
            e = _small_table(con, pairs)
            nodes = _referral_nodes(_small_table(con, ends), persons, designations, institutions, policy, year)
            cont = _small_table(con, _continuous_deductibles(e, nodes, depth).to_pyarrow())

        capped = None
        marked = who.mutate(_big=ibis.literal(False))
        if has_reach or null_big:
            # persons who could reach the cap (few): every claim through the deductible's and the cap's running sums,
            # decided first
            few = who.filter(reach(who) if has_reach else ibis.literal(False))  # a small hash table for few claims
            a = prepared(year_claims(mine, source=early), few)
            decided = finish(_annual_cap(_fund0(_deductible_windows(a, levels), policy)), _pid=a.person_id).to_pyarrow()
            pids = pc.unique(decided.column("_pid").combine_chunks().drop_null())
            capped = _small_table(con, decided.drop_columns(["_pid"]))
            # the others: persons not marked _big, those whose claims were decided (an over-cap person missing from
            # persons gets a row of nulls, as the left join with who would give it)
            ids = _small_table(con, pa.table({"_tp": pids.cast(pa.string())}))
            m = who.outer_join(ids, who.person_id == ids._tp)
            marked = m.select(person_id=m.person_id.fill_null(m._tp), _emp=m._emp, _dcons=m._dcons, _dtown=m._dtown,
                              _dvil=m._dvil, _big=m._tp.notnull())
    finally:
        if early is not claims:  # the admissions read first: their memory back before the big passes
            con.raw_sql(f'DROP TABLE IF EXISTS "{temp}"')
    places = None
    if con.name == "duckdb":
        # every pass joins the claims with the persons: decided once, the designation carried as a number
        marked, places = _coded(marked)
    # the outpatient deductibles of everyone else's claims that accrue one: the running sums over those claims alone,
    # on the five columns they need, decided next; kept (claim_id -> the deductible) where the claims before took
    # some of it, i.e. where it is not the whole min(C, D) (a person's first such claim, and those after it while
    # the deductible is not reached, are not kept)
    w = _uncapped(prepared(year_claims(lambda t: (t.setting != "inpatient") & ~t.unreasonable.fill_null(False),
                                       admissions=False), marked), null_big)
    w = _deductible_windows(w.filter(w._accrues).select("claim_id", "person_id", "admit_date", "_d_op", "_c"), levels)
    whole = (w._ded_op == ibis.least(w._c, w._d_op)).fill_null(False)
    w = w.filter(~whole).select(_nid=w.claim_id, _nded=w._ded_op)
    deductibles = _materialized(con, w)
    # every other claim once, with the columns wanted: only those that accrue a deductible look for theirs
    n = _uncapped(prepared(year_claims(), marked), null_big)
    key = ibis.ifelse(n._accrues, n.claim_id, ibis.null("string"))
    n = n.left_join(deductibles, key == deductibles._nid)
    n = _fund0(n.mutate(_ded_op=ibis.ifelse(n._nid.notnull(), n._nded, ibis.least(n._c, n._d_op))), policy)
    out = finish(n.mutate(fund_paid=n._f0))
    if capped is not None:
        out = out.union(capped)
    return out.order_by("claim_id") if ordered else out


def _coded(who: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``who`` (person_id, _emp, _dcons, _dtown, _dvil, _big) decided now, on DuckDB, with its designations coded:
    the persons as (person_id, _emp, _big, _dk) and the distinct designations as (_k, _dcons, _dtown, _dvil), a few
    hundred rows. A pass joins a province's claims with ten million persons carrying one number instead of three
    names, and the names with a small table after (about 2 s less per pass at 100 M claims)."""
    a = who.to_pyarrow()
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
    people = pa.table({"person_id": a.column("person_id"), "_emp": a.column("_emp"), "_big": a.column("_big"),
                       "_dk": codes})
    return ibis.memtable(people), ibis.memtable(places)


def _materialized(con: BaseBackend, expr: ir.Table) -> ir.Table:
    """``expr`` decided now, as a table for the engine, on DuckDB (so that the running sums hold their memory in a
    query of their own, not beside the main pass's); on Spark the expression itself (its driver would hold it)."""
    return ibis.memtable(expr.to_pyarrow()) if con.name == "duckdb" else expr


def _small_table(con: BaseBackend, table: pa.Table) -> ir.Table:
    """A small Arrow table for the engine: in memory on DuckDB, a temp view on Spark."""
    return ibis.memtable(table) if con.name == "duckdb" else register_arrow(con, table)


def _smaller_cap(policy: BenefitPolicy) -> int:
    """The smaller of the annual caps (resident, employee): below it nobody's fund payments are cut."""
    return min(policy.annual_cap("resident"), policy.annual_cap("employee"))


def _reachable(claims: ir.Table) -> ir.IntegerValue:
    """What a claim can add to a person's fund payments at most: its covered cost (a fund payment never exceeds
    it), 0 when negative."""
    return ibis.greatest(claims.covered_cost.cast("int64"), ibis.literal(0, "int64"))


def _over_cap_persons(claims: ir.Table, policy: BenefitPolicy) -> tuple[pa.Table, bool]:
    """The persons (column _tp) whose covered costs in ``claims`` add up to more than the smaller annual cap, and
    whether the claims without a person do; executes one aggregate query. A claim's fund payment never exceeds its
    covered cost, so nobody else's fund payments can reach the cap."""
    tot = claims.group_by(_tp=claims.person_id).aggregate(_sumc=_reachable(claims).sum())
    big = tot.filter(tot._sumc > _smaller_cap(policy)).select("_tp").to_pyarrow()
    null_big = big.column("_tp").null_count > 0
    return big.filter(pc.is_valid(big.column("_tp"))).cast(pa.schema([("_tp", pa.string())])), null_big


_names = itertools.count()  # of the engine's temporary tables
_BUCKET_BITS = 22  # 4 M buckets: 2.4 persons each at 10 M persons, a few hundred buckets reach a cap


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
    for batch in _duckdb_batches(claims.select(_b=_bucket(claims.person_id), _c=_reachable(claims)), 1 << 22):
        b = batch.column(0).to_numpy(zero_copy_only=False)
        w = batch.column(1).to_numpy(zero_copy_only=False).astype(np.float64)
        # bincount weighs in float64: a batch's sums are exact below 2^53 fen (90 trillion yuan) and any larger
        # one is far over the cap either way; the totals are kept in integers
        sums += np.bincount(b, weights=w, minlength=size).astype(np.int64)
    hot = np.flatnonzero(sums > _smaller_cap(policy))
    null_big = bool(hot.size and hot[-1] == size - 1)
    return pa.table({"_b": pa.array(hot[hot != size - 1], pa.int32())}), null_big


def _duckdb_batches(expr: ir.Table, rows: int) -> pa.RecordBatchReader:
    """``expr`` executed on DuckDB as a stream of Arrow batches (Ibis's own ``to_pyarrow_batches`` calls a method
    this DuckDB no longer has)."""
    backend = expr.get_backend()
    backend._run_pre_execute_hooks(expr)  # registers the expression's in-memory tables
    return backend.con.sql(str(backend.compile(expr))).to_arrow_reader(rows)


def _uncapped(t: ir.Table, null_big: bool) -> ir.Table:
    """The claims of t that no cap can reach (all of them when t has no _big column)."""
    if "_big" not in t.columns:
        return t
    keep = ~t._big.fill_null(False)
    return t.filter(keep & t.person_id.notnull() if null_big else keep)


def _continuous(base: ir.Table) -> ir.Table:
    """base (with _cont_ded, the continuous deductible of a referred admission, else null) + _cont and _ded_ip (the
    inpatient deductible)."""
    return base.mutate(_cont=base._cont_ded.notnull(),
                       _ded_ip=base._cont_ded.fill_null(ibis.least(base._c, base._d_ip))).drop("_cont_ded")


def _prepared(base: ir.Table, policy: BenefitPolicy) -> ir.Table:
    """What is known before the running sums: the rule (but the cap), the payment kind, a deductible not accrued."""
    rule0 = ibis.cases(
        (base._unr, _RULES.index(Rule.UNREASONABLE)),
        (~base._pays, _RULES.index(Rule.NO_BENEFIT)),
        (base._status == _OTHER, _RULES.index(Rule.EMERGENCY_AS_OUTSIDE)),
        (base._inp & base._cont, _RULES.index(Rule.CONTINUOUS_DEDUCTIBLE)),
        (base._inp, _RULES.index(Rule.INPATIENT)),
        (base._flat, _RULES.index(Rule.FLAT_COPAY)),
        else_=_RULES.index(Rule.OUTPATIENT),
    ).cast("int64")
    kind = ibis.cases((~base._pays, _NOTHING), (base._flat, _FLAT), else_=_RATED).cast("int64")
    fixed_ded = ibis.cases((~base._pays | base._flat, ibis.literal(0, "int64")), (base._inp, base._ded_ip.cast("int64")),
                           else_=ibis.null("int64"))
    return base.mutate(_rule0=rule0, _kind=kind, _fixed=fixed_ded)


def _fund0(t: ir.Table, policy: BenefitPolicy) -> ir.Table:
    """t (with _ded_op) + deductible and _f0, the fund payment before the annual cap."""
    t = t.mutate(deductible=t._fixed.fill_null(t._ded_op).cast("int64"))
    fund0 = ibis.cases(
        (t._kind == _NOTHING, ibis.literal(0, "int64")),
        (t._kind == _FLAT, t._c - ibis.least(t._c, policy.flat_copay)),
        else_=_half_up(t._c - t.deductible, t._rate),
    )
    return t.mutate(_f0=ibis.greatest(ibis.literal(0, "int64"), fund0).cast("int64"))


def _running(t: ir.Table, column: str) -> ir.IntegerValue:
    """Running total of ``column`` per person in (admit_date, claim_id) order, this row included."""
    w = ibis.cumulative_window(group_by=t.person_id, order_by=[t.admit_date, t.claim_id])
    return t[column].sum().over(w)


def _deductible_windows(t: ir.Table, levels: list[int]) -> ir.Table:
    """t + _ded_op, the outpatient deductible each claim applies: one running sum per deductible level. Claims with
    _d_op = 0 apply none and move no running sum (their x is 0 at every level): callers leave them out where they can.
    """
    if not levels:
        return t.mutate(_ded_op=ibis.literal(0, "int64"))
    acc = t.mutate(_inc0=ibis.literal(0, "int64"))
    prev = "_inc0"
    for k, d in enumerate(levels, start=1):
        x = f"_x{k}"
        acc = acc.mutate(**{x: ibis.ifelse(acc._d_op >= d, acc._c, acc[prev])})
        cum = _running(acc, x)
        acc = acc.mutate(**{f"_inc{k}": ibis.least(d, cum) - ibis.least(d, cum - acc[x])})
        prev = f"_inc{k}"
    ded = ibis.ifelse(acc._d_op > 0, ibis.least(acc[prev], acc._c), ibis.literal(0, "int64"))  # never above C
    acc = acc.mutate(_ded_op=ded.cast("int64"))
    return acc.select(*t.columns, "_ded_op")


def _annual_cap(t: ir.Table) -> ir.Table:
    """t + fund_paid: capped cumulative = min(cap, cumulative fund); a claim pays its increment."""
    cum = _running(t, "_f0")
    return t.mutate(fund_paid=(ibis.least(t._cap, cum) - ibis.least(t._cap, cum - t._f0)).cast("int64"))
