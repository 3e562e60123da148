"""Settlement queries (清算统计): Ibis expressions over designations, persons and adjudicated claims.

The same expressions run on DuckDB and Spark. Money columns are int64 fen; nothing here loops per person or claim.

Inputs (Ibis tables; extra columns are ignored):
- ``designations``: person_id, year, consortium_id, township_id, village_id
- ``persons``: person_id, birth_date (date)
- ``institutions``: inst_id, tier, consortium_id
- ``adjudicated``: claim_id, person_id, inst_id, admit_date (date), fund_paid (int64 fen), rule, diagnosis,
  unreasonable (bool)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

import ibis
import ibis.expr.types as ir

from yigongti.benefits.domain import Rule
from yigongti.benefits.engine import DESIGNATED_CONSORTIUM, DESIGNATED_TOWNSHIP, DESIGNATED_VILLAGE
from yigongti.core.engine import age_expr, dated_in
from yigongti.core.policy import CapitationPolicy
from yigongti.registry.domain import Tier

__all__ = [
    "EXCLUDED",
    "FUND",
    "IN_NETWORK",
    "OUT_OF_NETWORK",
    "Charge",
    "age_expr",
    "charged_claims",
    "charged_spending",
    "charged_summary",
    "costs_at_institutions",
    "cost_by_age",
    "enrollees",
    "head_counts",
    "institution_heads",
    "lives_away_by_month",
    "member_charges",
    "risk_flags",
    "spending_by_month",
    "spending_by_tier",
    "top_out_of_network_diagnoses",
]


class Charge(StrEnum):
    """Who bears a claim (费用归属), the ``charge`` column of :func:`charged_claims`."""

    IN_NETWORK = "in_network"  # the consortium's enrollee at its own institution (I_c)
    OUT_OF_NETWORK = "out_of_network"  # its enrollee outside, or an emergency paid as outside (D_c)
    FUND = "fund"  # paid by the fund fee-for-service, charged to no consortium
    EXCLUDED = "unreasonable"  # marked unreasonable by the bureau: not paid, charged to no one


IN_NETWORK = Charge.IN_NETWORK
OUT_OF_NETWORK = Charge.OUT_OF_NETWORK
FUND = Charge.FUND
EXCLUDED = Charge.EXCLUDED


def _band_expr(policy: CapitationPolicy, age: ir.IntegerValue) -> ir.IntegerValue:
    expr: ir.IntegerValue = ibis.literal(0, "int64")
    for i, b in enumerate(policy.age_bands):
        if i:
            expr = ibis.ifelse(age >= b.min_age, ibis.literal(i, "int64"), expr)
    return expr


def enrollees(designations: ir.Table, *, year: int) -> ir.Table:
    """The designations of ``year``: who is enrolled in which consortium, township and village institution."""
    d = designations
    return d.filter(d.year == year).select("person_id", "consortium_id", "township_id", "village_id")


def risk_flags(claims: ir.Table, classes: Mapping[str, Sequence[str]], *, year: int) -> ir.Table:
    """Per person with a claim in ``year``: one boolean column per risk class, true when a diagnosis of that year
    starts with one of the class's ICD-10 prefixes. Columns are named ``risk_<i>`` in class-name order."""
    c = _of_year(claims, year)
    diag = c.diagnosis.fill_null("").upper()
    aggs = {}
    for i, name in enumerate(sorted(classes)):
        hit = ibis.literal(False)
        for prefix in classes[name]:
            hit = hit | diag.startswith(prefix.upper())
        aggs[f"risk_{i}"] = hit.cast("int64").max()
    return c.mutate(diag=diag).group_by("person_id").aggregate(**aggs) if aggs else c.select("person_id").distinct()


def _with_risk(j: ir.Table, risk: ir.Table | None) -> tuple[ir.Table, list[str]]:
    """``j`` (with person_id) plus the risk flag columns of ``risk`` (0 for persons without claims)."""
    if risk is None:
        return j, []
    flags = [c for c in risk.columns if c.startswith("risk_")]
    out = j.join(risk, j.person_id == risk.person_id, how="left")
    out = out.select(*[j[c] for c in j.columns], *[risk[f].fill_null(0).name(f) for f in flags])
    return out, flags


def head_counts(designations: ir.Table, persons: ir.Table, *, year: int, policy: CapitationPolicy,
                risk: ir.Table | None = None, world: int = 0) -> ir.Table:
    """Enrollees per (consortium_id, band[, risk_0 ...]) as ``persons``: the input of standard heads. ``world``:
    the width of the prefix of person_id that tells stacked worlds apart (a column ``world`` more, so that
    enrollees without a consortium stay in their world); 0: one world."""
    e = enrollees(designations, year=year)
    p = persons.select("person_id", "birth_date")
    j = e.join(p, e.person_id == p.person_id, how="left").select(e.person_id, e.consortium_id, p.birth_date)
    j = j.mutate(band=_band_expr(policy, age_expr(j.birth_date, year)))
    j, flags = _with_risk(j, risk)
    keys = ["consortium_id", "band", *flags]
    if world:
        j = j.mutate(world=j.person_id.substr(0, world))
        keys = ["world", *keys]
    return j.group_by(keys).aggregate(persons=j.person_id.count()).order_by(keys)


def institution_heads(designations: ir.Table, *, year: int) -> ir.Table:
    """Head count per institution (inst_id, heads): persons designated to a township or village institution, and
    per consortium under inst_id = consortium_id (what each county-tier unit counts)."""
    e = enrollees(designations, year=year)
    town = e.group_by(inst_id=e.township_id).aggregate(heads=e.person_id.count())
    village = e.group_by(inst_id=e.village_id).aggregate(heads=e.person_id.count())
    cons = e.group_by(inst_id=e.consortium_id).aggregate(heads=e.person_id.count())
    return ibis.union(town, village, cons, distinct=False).order_by("inst_id")


def _of_year(t: ir.Table, year: int) -> ir.Table:
    """Rows whose admit_date lies in ``year`` (a range, so that Parquet statistics can skip row groups)."""
    return t.filter(dated_in(t.admit_date, [year]))


def _paid_as_outside(j: ir.Table) -> ir.BooleanValue:
    """An emergency at a consortium's institution paid by the outside row (rule emergency_as_outside), or one whose
    payment the annual cap then cut (rule annual_cap: at another consortium nothing else is paid, so nothing else is
    cut). With the enrollee's own consortium tested first, this is an emergency at another consortium."""
    at_consortium = j.inst_consortium.fill_null("") != ""
    return (j.rule == Rule.EMERGENCY_AS_OUTSIDE) | ((j.rule == Rule.ANNUAL_CAP) & at_consortium)


def charged_claims(adjudicated: ir.Table, designations: ir.Table, institutions: ir.Table, *, year: int) -> ir.Table:
    """Every claim of ``year`` with who bears it (rules.md D1): ``charge`` is in_network (c's enrollee at c's
    institution), out_of_network (c's enrollee at an outside hospital, or an emergency paid as outside), fund
    (anyone else: fee-for-service) or unreasonable; ``charged_to`` is the consortium for the first two, else null.
    The same rule as :func:`charged_spending`, claim by claim (for checks and drill-down)."""
    a = _of_year(adjudicated, year)
    e = enrollees(designations, year=year).select("person_id", enrolled_in="consortium_id")
    inst = institutions.select("inst_id", inst_tier="tier", inst_consortium="consortium_id")
    j = a.join(e, "person_id", how="left").join(inst, "inst_id", how="left")
    unreasonable = (j.rule == Rule.UNREASONABLE) | j.unreasonable.fill_null(False)
    enrolled = j.enrolled_in.notnull()
    own = enrolled & (j.inst_consortium.fill_null("") == j.enrolled_in)
    outside = enrolled & ((j.inst_tier == Tier.OUTSIDE) | _paid_as_outside(j))
    charge = (ibis.cases((unreasonable, EXCLUDED), (own, IN_NETWORK), (outside, OUT_OF_NETWORK), else_=FUND))
    j = j.mutate(charge=charge)
    charged_to = ibis.ifelse((j.charge == IN_NETWORK) | (j.charge == OUT_OF_NETWORK), j.enrolled_in,
                             ibis.null("string"))
    return j.select(
        "claim_id", "person_id", "inst_id", "inst_tier", "diagnosis", "fund_paid", "charge",
        charged_to=charged_to, month=j.admit_date.month().cast("int64"),
    )


def charged_spending(adjudicated: ir.Table, designations: ir.Table, institutions: ir.Table, *,
                     year: int) -> ir.Table:
    """The claims of ``year`` charged to a consortium (rules.md D1), lean: (consortium_id, month, in_network,
    tier, diagnosis, fund_paid, member). ``in_network``: c's enrollee at c's institution (I_c); otherwise an
    out-of-network deduction (D_c: an outside hospital, or an emergency paid as outside, capped or not) and ``tier`` is
    ``outside``. ``member``: the member whose package statement bears the claim (budget.package): in network the
    institution that provided it, out of network the institution the person is designated to (village, else
    township). Unreasonable claims, non-enrollees and claims without benefit at another consortium are left out.
    An adjudication with the designation's columns (``adjudicate(..., designated=True)`` gives all of
    ``DESIGNATED_COLUMNS``) is not joined with the designations at all; one without them is."""
    a = _of_year(adjudicated, year)
    inst = institutions.select("inst_id", inst_tier="tier", inst_consortium="consortium_id")
    if DESIGNATED_CONSORTIUM in a.columns:
        # straight from the engine's adjudication: it found each claim's designation already, and its rule is
        # "unreasonable" exactly when the claim is marked so (no text comparison per claim)
        a = a.filter(a[DESIGNATED_CONSORTIUM].notnull() & ~a.unreasonable.fill_null(False))
        j = a.rename(consortium_id=DESIGNATED_CONSORTIUM, d_township=DESIGNATED_TOWNSHIP,
                     d_village=DESIGNATED_VILLAGE).join(inst, "inst_id")
    else:
        a = a.filter((a.rule != Rule.UNREASONABLE) & ~a.unreasonable.fill_null(False))
        e = enrollees(designations, year=year).select("person_id", "consortium_id", d_village="village_id",
                                                      d_township="township_id")
        j = a.join(e, "person_id").join(inst, "inst_id")
    own = j.inst_consortium.fill_null("") == j.consortium_id
    j = j.filter(own | (j.inst_tier == Tier.OUTSIDE) | _paid_as_outside(j))
    own = j.inst_consortium.fill_null("") == j.consortium_id
    home_inst = ibis.coalesce(j.d_village.nullif(""), j.d_township.nullif(""), j.consortium_id)
    return j.select("consortium_id", month=j.admit_date.month().cast("int64"), in_network=own,
                    tier=ibis.ifelse(own, j.inst_tier,
                                     Tier.OUTSIDE.value), diagnosis=j.diagnosis, fund_paid=j.fund_paid,
                    member=ibis.ifelse(own, j.inst_id, home_inst))


def charged_summary(charged: ir.Table) -> ir.Table:
    """:func:`charged_spending` summed by (consortium_id, month, tier, in_network, diagnosis, member): fund_paid,
    claims. The diagnosis is kept for out-of-network rows only (null in network), so the summary stays small; the
    report figures below are computed from it, so the claims are scanned and joined once."""
    c = charged
    diag = ibis.ifelse(c.in_network, ibis.null("string"), c.diagnosis.fill_null(""))
    return (c.group_by("consortium_id", "month", "tier", "in_network", "member", diagnosis=diag)
            .aggregate(fund_paid=c.fund_paid.sum().cast("int64"), claims=c.count().cast("int64")))


def member_charges(summary: ir.Table) -> ir.Table:
    """(consortium_id, inst_id, month, fund_paid) from :func:`charged_summary`: the charged spending by the member
    whose package statement bears it (a person designated to no institution: the consortium itself)."""
    c = summary
    return (c.group_by("consortium_id", inst_id=c.member, month=c.month)
            .aggregate(fund_paid=c.fund_paid.sum().cast("int64")).order_by(["consortium_id", "inst_id", "month"]))


def costs_at_institutions(claims: ir.Table, *, year: int) -> ir.Table:
    """(inst_id, total_cost): the medical costs of the claims of ``year`` by the institution that provided them,
    unreasonable ones left out (近年统计, the package's ``history`` part)."""
    c = _of_year(claims, year)
    if "unreasonable" in c.columns:
        c = c.filter(~c.unreasonable.fill_null(False))
    return c.group_by("inst_id").aggregate(total_cost=c.total_cost.sum().cast("int64")).order_by("inst_id")


def spending_by_month(summary: ir.Table) -> ir.Table:
    """(consortium_id, month, in_network, out_of_network) in fen from :func:`charged_summary`, for the months
    with charged claims."""
    c = summary
    zero = ibis.literal(0, "int64")
    return (c.group_by("consortium_id", "month")
            .aggregate(in_network=ibis.ifelse(c.in_network, c.fund_paid, zero).sum().cast("int64"),
                       out_of_network=ibis.ifelse(c.in_network, zero, c.fund_paid).sum().cast("int64"))
            .order_by(["consortium_id", "month"]))


def spending_by_tier(summary: ir.Table) -> ir.Table:
    """(consortium_id, tier, fund_paid, claims) from :func:`charged_summary`: where c's charged money went, own
    tiers vs outside hospitals (tier ``outside`` holds every out-of-network deduction, emergencies included)."""
    c = summary
    return (c.group_by("consortium_id", "tier")
            .aggregate(fund_paid=c.fund_paid.sum().cast("int64"), claims=c.claims.sum().cast("int64"))
            .order_by(["consortium_id", "tier"]))


def top_out_of_network_diagnoses(summary: ir.Table, *, top: int = 10) -> ir.Table:
    """The ``top`` diagnoses by out-of-network fund payment per consortium from :func:`charged_summary`:
    (consortium_id, rank, diagnosis, fund_paid, claims); ties by diagnosis."""
    c = summary.filter(~summary.in_network)
    g = (c.group_by("consortium_id", "diagnosis")
         .aggregate(fund_paid=c.fund_paid.sum().cast("int64"), claims=c.claims.sum().cast("int64")))
    w = ibis.window(group_by=g.consortium_id, order_by=[ibis.desc(g.fund_paid), g.diagnosis])
    g = g.mutate(rank=(ibis.row_number().over(w) + 1).cast("int64"))
    return (g.filter(g["rank"] <= top).select("consortium_id", "rank", "diagnosis", "fund_paid", "claims")
            .order_by(["consortium_id", "rank"]))


def lives_away_by_month(adjudicated: ir.Table, designations: ir.Table, persons: ir.Table, *,
                        year: int, world: int = 0) -> ir.Table:
    """(month, fund_paid, claims): the fund's payments for the claims of ``year`` of insured persons living away all
    year (``persons.lives_away``) without a designation for the year: paid by the fund, charged to no consortium, and
    reported apart (rules.md D7). Unreasonable claims are left out (not paid). ``world``: as in :func:`head_counts`
    (then by world and month)."""
    a = _of_year(adjudicated, year)
    a = a.filter((a.rule != Rule.UNREASONABLE) & ~a.unreasonable.fill_null(False))
    away = persons.filter(persons.lives_away.fill_null(False)).select("person_id")
    e = enrollees(designations, year=year).select("person_id")
    j = a.semi_join(away, "person_id").anti_join(e, "person_id")
    month = j.admit_date.month().cast("int64")
    keys = {"world": j.person_id.substr(0, world), "month": month} if world else {"month": month}
    return (j.group_by(**keys)
            .aggregate(fund_paid=j.fund_paid.sum().cast("int64"), claims=j.count().cast("int64"))
            .order_by(list(keys)))


def cost_by_age(adjudicated: ir.Table, persons: ir.Table, *, year: int, risk: ir.Table | None = None) -> ir.Table:
    """(age[, risk_0 ...], persons, fund_paid): every insured person by completed years on Jan 1 of ``year`` (and
    risk flags from :func:`risk_flags`) with the fund's payments for their claims of that year (unreasonable claims
    excluded); the input of ``calibrate``."""
    a = _of_year(adjudicated, year)
    a = a.filter(a.rule != Rule.UNREASONABLE)
    per_person = a.group_by("person_id").aggregate(paid=a.fund_paid.sum().cast("int64"))
    p = persons.select("person_id", "birth_date")
    j = p.join(per_person, p.person_id == per_person.person_id, how="left").select(
        p.person_id, p.birth_date, per_person.paid)
    j = j.mutate(age=age_expr(j.birth_date, year), paid=j.paid.fill_null(0))
    j, flags = _with_risk(j, risk)
    keys = ["age", *flags]
    return (j.group_by(keys).aggregate(persons=j.person_id.count(), fund_paid=j.paid.sum().cast("int64"))
            .order_by(keys))
