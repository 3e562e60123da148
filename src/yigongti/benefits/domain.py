"""Benefits per claim (待遇), docs/en/rules.md B, one claim at a time, in integer fen.

This is the single-claim path the web and the API use to explain a decision to a resident, and the plain loop over a
person's claims that the tests take as the reference for the columnar engine (``yigongti.benefits.engine``).

Order of decisions for one claim:

1. network status (就医类别) from the person's designation for the claim's year;
2. the benefit row (待遇档次): by status and tier, ``outside`` rows by hospital level; an emergency at another
   consortium is paid by the ``outside`` row;
3. the deductible (起付线): outpatient deductibles accrue per person-year, inpatient ones per admission, counted
   continuously across a referral (连续计算起付线); never more than the covered cost C;
4. the fund payment (统筹支付): flat copay, or (C - deductible) x rate rounded half-up to the fen; then the annual
   cap (年度最高支付限额); the patient pays the rest of the total.

The two-disease outpatient drug benefit (两病用药保障, rules.md B9, off by default) takes the place of steps 3-4 for
a registered hypertension or diabetes patient's outpatient claim for the disease where it applies: C x its rate, no
deductible, within its own yearly cap per person; once that cap is used up the claims are paid as any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from yigongti.core.codes import NetworkStatus, Rule, Setting
from yigongti.core.icd import icd_matches
from yigongti.core.money import apply_rate_bp, format_yuan
from yigongti.core.policy import BenefitPolicy, BenefitRow, TwoDiseasePolicy
from yigongti.registry.domain import Institution, Tier

__all__ = [
    "ROW_NAMES",
    "RULE_TEXT",
    "Claim",
    "Decision",
    "DesignatedCare",
    "Insured",
    "NetworkStatus",
    "Rule",
    "Setting",
    "adjudicate_claim",
    "adjudicate_person",
    "annual_cap",
    "continuous_deductible",
    "continuous_deductible_due",
    "deductible",
    "flat_copay",
    "fund_rate",
    "has_benefit",
    "inpatient_deductible",
    "is_flat_copay",
    "network_status",
    "outpatient_deductible",
    "outpatient_deductible_due",
    "outpatient_deductible_levels",
    "rated_fund",
    "row_name",
    "rule",
    "two_disease_applies",
    "two_disease_fund",
    "two_disease_of",
    "two_disease_registrations",
]


RULE_TEXT: dict[Rule, tuple[str, str]] = {
    Rule.FLAT_COPAY: ("定点机构普通门诊，个人只付定额", "outpatient care at a designated institution: a flat copay"),
    Rule.OUTPATIENT: ("门诊：扣除年度起付线后按比例报销", "outpatient: the fund rate after the annual deductible"),
    Rule.INPATIENT: ("住院：扣除本次起付线后按比例报销", "inpatient: the fund rate after this admission's deductible"),
    Rule.CONTINUOUS_DEDUCTIBLE: ("转诊住院：起付线连续计算", "referred admission: the deductible counts continuously"),
    Rule.NO_BENEFIT: ("在非定点医共体就医，不予报销", "care at a consortium not designated: no benefit"),
    Rule.EMERGENCY_AS_OUTSIDE: ("在非定点医共体急诊，按医共体外医院报销",
                                "emergency at another consortium: paid as at a hospital outside every consortium"),
    Rule.UNREASONABLE: ("经医保部门审核为不合理费用，不予报销",
                        "judged unreasonable by the insurance bureau: not paid"),
    Rule.ANNUAL_CAP: ("达到年度最高支付限额", "the annual cap of fund payments cut this payment"),
    Rule.TWO_DISEASE: ("两病门诊用药保障：登记的高血压、糖尿病患者门诊用药按比例报销，不设起付线",
                       "two-disease drug benefit: a registered hypertension or diabetes patient's outpatient claim "
                       "paid at its rate, no deductible"),
}


@dataclass(frozen=True)
class Claim:
    """One claim (结算单); money in int fen."""

    claim_id: str
    person_id: str
    inst_id: str
    setting: str  # outpatient | inpatient
    admit_date: date
    total_cost: int
    covered_cost: int
    emergency: bool = False
    discharge_date: date | None = None
    referral_from: str | None = None
    unreasonable: bool = False
    diagnosis: str | None = None  # main diagnosis, ICD-10

    @property
    def inpatient(self) -> bool:
        return self.setting == Setting.INPATIENT

    @property
    def year(self) -> int:
        return self.admit_date.year

    @property
    def order_key(self) -> tuple[date, str]:
        """Claims are applied per person in (admit_date, claim_id) order."""
        return self.admit_date, self.claim_id


class Insured(Protocol):
    """Anything with the person's insurance type (``resident`` 城乡居民 or ``employee`` 职工)."""

    @property
    def insurance(self) -> str: ...


class DesignatedCare(Protocol):
    """A designation (定点) for a year: consortium, township-tier and village-tier institutions."""

    @property
    def consortium_id(self) -> str: ...

    @property
    def township_id(self) -> str: ...

    @property
    def village_id(self) -> str: ...


@dataclass(frozen=True)
class Decision:
    """An adjudicated claim (待遇结算结果) with everything needed to explain it."""

    claim: Claim
    network_status: NetworkStatus
    row_name: str | None  # the BenefitPolicy row used (None: no benefit / unreasonable)
    deductible_due: int  # the row's deductible still due before looking at C (fen)
    deductible: int  # the deductible applied (fen)
    rate_bp: int  # fund rate in basis points (0 for a flat copay)
    fund_before_cap: int
    cap: int
    cap_remaining: int  # what was left of the annual cap before this claim
    fund_paid: int
    patient_paid: int
    rule: Rule
    referral_applied: int | None = None  # deductible of the referring admission when the deductible was continuous
    flat_copay: bool = False  # paid as a flat copay (定额自付)
    two_disease_left: int | None = None  # paid by the two-disease benefit: what was left of its yearly cap before
    two_disease_cap: int = 0  # the two-disease benefit's yearly cap when it paid

    @property
    def two_disease(self) -> bool:
        """Paid by the two-disease benefit (两病用药保障), whether or not the annual cap cut it after."""
        return self.two_disease_left is not None

    @property
    def explanation_zh(self) -> str:
        return _explain(self, zh=True)

    @property
    def explanation_en(self) -> str:
        return _explain(self, zh=False)


def network_status(institution: Institution, designation: DesignatedCare | None) -> NetworkStatus:
    """Network status (就医类别). ``designated``: a county-tier member of the designated consortium, or the designated
    township or village; ``in_consortium``: another member of it; ``other_consortium``: a member of another
    consortium (or any member when the person has no designation); ``outside``: a hospital in no consortium."""
    if not institution.consortium_id or institution.tier == Tier.OUTSIDE:
        return NetworkStatus.OUTSIDE
    if designation is None or institution.consortium_id != designation.consortium_id:
        return NetworkStatus.OTHER_CONSORTIUM
    if institution.tier == Tier.COUNTY or institution.inst_id in (designation.township_id, designation.village_id):
        return NetworkStatus.DESIGNATED
    return NetworkStatus.IN_CONSORTIUM


def row_name(status: NetworkStatus, tier: str, level: int) -> str:
    """The benefit row (待遇档次): the BenefitPolicy attribute holding the row for a paying status
    (``other_consortium`` pays as ``outside``), by tier inside the consortium, by hospital level outside."""
    if status in (NetworkStatus.OUTSIDE, NetworkStatus.OTHER_CONSORTIUM):
        return "outside_tertiary" if level >= 3 else "outside_secondary"
    part = "primary" if tier in (Tier.TOWNSHIP, Tier.VILLAGE) else "county"
    return f"{status.value}_{part}"


ROW_NAMES = ("designated_primary", "designated_county", "in_consortium_primary", "in_consortium_county",
             "outside_secondary", "outside_tertiary")
_ROW_NAMES = ROW_NAMES


def outpatient_deductible_levels(policy: BenefitPolicy) -> list[int]:
    """The distinct positive outpatient deductibles of the rows that are not flat copay, lowest first."""
    rows: Iterable[BenefitRow] = (getattr(policy, n) for n in _ROW_NAMES)
    return sorted({r.outpatient_deductible for r in rows
                   if not r.outpatient_flat_copay and r.outpatient_deductible > 0})


# --------------------------------------------------------------------------------------------- the decisions
# One function per rule; ``yigongti.benefits.engine`` has a column expression of the same name for each.


def has_benefit(status: NetworkStatus, *, unreasonable: bool, emergency: bool) -> bool:
    """Whether the claim is paid at all (有待遇): not judged unreasonable, and not at another consortium unless an
    emergency."""
    return not unreasonable and (status is not NetworkStatus.OTHER_CONSORTIUM or emergency)


def is_flat_copay(row: BenefitRow, *, inpatient: bool) -> bool:
    """Whether the claim is paid as a flat copay (定额自付): outpatient care on a row of flat copay."""
    return not inpatient and row.outpatient_flat_copay


def flat_copay(covered: int, policy: BenefitPolicy) -> int:
    """The fund payment of a flat copay (定额自付): C less the copay, never below 0."""
    return covered - min(covered, policy.flat_copay)


def fund_rate(policy: BenefitPolicy, row: BenefitRow, *, inpatient: bool, insurance: str) -> int:
    """The fund rate (报销比例) in basis points: the row's, plus the employees' bonus, at most 100%."""
    return policy.fund_rate(row, inpatient=inpatient, insurance=insurance)


def outpatient_deductible_due(row: BenefitRow, applied: int) -> int:
    """The outpatient deductible (门诊起付线) still due: the row's less what the person's earlier outpatient claims
    of the year applied (it accrues per person-year, across rows)."""
    return max(0, row.outpatient_deductible - applied)


def continuous_deductible_due(row: BenefitRow, referring: int) -> int:
    """The inpatient deductible due on a referred admission (连续计算起付线): the row's less the deductible the
    referring admission applied."""
    return max(0, row.inpatient_deductible - referring)


def deductible(covered: int, due: int) -> int:
    """The deductible applied (起付线): what is due, never more than the covered cost C."""
    return min(covered, due)


def outpatient_deductible(covered: int, row: BenefitRow, applied: int) -> int:
    """The outpatient deductible applied (门诊起付线, per person-year): what is still due, at most C."""
    return deductible(covered, outpatient_deductible_due(row, applied))


def inpatient_deductible(covered: int, row: BenefitRow) -> int:
    """The inpatient deductible applied (住院起付线, per admission): the row's, at most C."""
    return deductible(covered, row.inpatient_deductible)


def continuous_deductible(covered: int, row: BenefitRow, referring: int) -> int:
    """The deductible applied on a referred admission (连续计算起付线): what is still due, at most C."""
    return deductible(covered, continuous_deductible_due(row, referring))


def rated_fund(covered: int, deductible_applied: int, rate_bp: int) -> int:
    """The fund payment by rate (按比例报销): (C - deductible) x rate, half-up to the fen."""
    return apply_rate_bp(covered - deductible_applied, rate_bp)


def annual_cap(fund: int, cap_remaining: int) -> int:
    """The fund payment after the annual cap (年度最高支付限额): never below 0, never more than what is left."""
    return min(max(fund, 0), cap_remaining)


def rule(status: NetworkStatus, *, paid: bool, unreasonable: bool, inpatient: bool, continuous: bool,
         flat: bool, two_disease: bool = False) -> Rule:
    """The rule that decides the claim before the annual cap, first match: unreasonable, no benefit, an emergency
    at another consortium (paid as outside), a referred admission (continuous deductible), an admission, a flat
    copay, the two-disease benefit, an outpatient claim."""
    if unreasonable:
        return Rule.UNREASONABLE
    if not paid:
        return Rule.NO_BENEFIT
    if status is NetworkStatus.OTHER_CONSORTIUM:
        return Rule.EMERGENCY_AS_OUTSIDE
    if inpatient:
        return Rule.CONTINUOUS_DEDUCTIBLE if continuous else Rule.INPATIENT
    if flat:
        return Rule.FLAT_COPAY
    return Rule.TWO_DISEASE if two_disease else Rule.OUTPATIENT


def two_disease_of(diagnosis: str | None, policy: TwoDiseasePolicy) -> str | None:
    """The disease of the two-disease benefit a diagnosis is for: ``hypertension`` (I10-I15), ``diabetes``
    (E10-E14), else None."""
    if not diagnosis:
        return None
    if icd_matches(diagnosis, policy.hypertension_icd):
        return "hypertension"
    if icd_matches(diagnosis, policy.diabetes_icd):
        return "diabetes"
    return None


def two_disease_registrations(claims: Iterable[Claim], policy: TwoDiseasePolicy) -> dict[str, date]:
    """The chronic registry of one person as the benefit reads it (慢病登记): each disease on the date of the first
    claim (any setting, any year) whose diagnosis is for it, as the care registry registers from claims."""
    out: dict[str, date] = {}
    for c in claims:
        disease = two_disease_of(c.diagnosis, policy)
        if disease is not None and (disease not in out or c.admit_date < out[disease]):
            out[disease] = c.admit_date
    return out


def two_disease_applies(status: NetworkStatus, *, primary: bool, paid: bool, inpatient: bool, flat: bool,
                        insurance: str, registered_on: date | None, admit_date: date,
                        policy: TwoDiseasePolicy) -> bool:
    """Whether the two-disease benefit may pay the claim (两病用药保障): enabled; an outpatient claim with a benefit,
    not on a row of flat copay (a flat copay already leaves the patient at most the copay); the person's insurance
    listed; the institution's status and tier listed (``primary``: a township centre or village clinic); and the
    person registered for the claim's disease before the claim's day (``registered_on``; a claim on the day of
    registration registers, the benefit starts after it)."""
    return (policy.enabled and paid and not inpatient and not flat and insurance in policy.insurance
            and status.value in policy.statuses and (policy.primary if primary else policy.county)
            and registered_on is not None and registered_on < admit_date)


def two_disease_fund(covered: int, rate_bp: int, left: int) -> int:
    """The two-disease benefit's payment: C x its rate, half-up to the fen, at most what is left of its yearly cap."""
    return min(apply_rate_bp(covered, rate_bp), max(left, 0))


def adjudicate_claim(claim: Claim, *, person: Insured, institution: Institution, designation: DesignatedCare | None,
                     policy: BenefitPolicy, history: Sequence[Decision] = (),
                     registered: Mapping[str, date] | None = None) -> Decision:
    """Decide one claim given the person's earlier decisions (``history``: any order, any year; only claims of the
    same year before this one in (admit_date, claim_id) order count, and the referring admission is looked up by id)
    and the person's chronic registry (``registered``: disease -> date, :func:`two_disease_registrations`).
    """
    earlier = [d for d in history if d.claim.year == claim.year and d.claim.order_key < claim.order_key]
    cap = policy.annual_cap(person.insurance)
    cap_remaining = max(0, cap - sum(d.fund_paid for d in earlier))
    status = network_status(institution, designation)
    c = claim.covered_cost
    paid = has_benefit(status, unreasonable=claim.unreasonable, emergency=claim.emergency)

    def decided(*, name: str | None = None, due: int = 0, ded: int = 0, rate: int = 0, fund: int = 0,
                referral: int | None = None, flat: bool = False, td_left: int | None = None) -> Decision:
        after_cap = annual_cap(fund, cap_remaining)
        base = rule(status, paid=paid, unreasonable=claim.unreasonable, inpatient=claim.inpatient,
                    continuous=referral is not None, flat=flat, two_disease=td_left is not None)
        final = Rule.ANNUAL_CAP if after_cap < fund else base
        return Decision(claim, status, name, due, ded, rate, fund, cap, cap_remaining, after_cap,
                        claim.total_cost - after_cap, final, referral, flat, td_left,
                        policy.two_disease.yearly_cap if td_left is not None else 0)

    if not paid:
        return decided()
    name = row_name(status, str(institution.tier), institution.level)
    row: BenefitRow = getattr(policy, name)
    rate = fund_rate(policy, row, inpatient=claim.inpatient, insurance=person.insurance)
    flat = is_flat_copay(row, inpatient=claim.inpatient)
    if flat:
        return decided(name=name, fund=flat_copay(c, policy), flat=True)
    td = policy.two_disease
    disease = two_disease_of(claim.diagnosis, td) if td.enabled else None
    if disease is not None and two_disease_applies(
            status, primary=institution.tier in (Tier.TOWNSHIP, Tier.VILLAGE), paid=paid, inpatient=claim.inpatient,
            flat=flat, insurance=person.insurance, registered_on=(registered or {}).get(disease),
            admit_date=claim.admit_date, policy=td):
        left = td.yearly_cap - sum(d.fund_before_cap for d in earlier if d.two_disease)
        if left > 0:  # used up: paid as any other claim
            return decided(name=name, rate=td.rate, fund=two_disease_fund(c, td.rate, left), td_left=left)
    if not claim.inpatient:
        due = outpatient_deductible_due(row, sum(d.deductible for d in earlier if not d.claim.inpatient))
        ded = deductible(c, due)
        return decided(name=name, due=due, ded=ded, rate=rate, fund=rated_fund(c, ded, rate))
    referring = _referring_admission(claim, history, policy)
    referral = None if referring is None else referring.deductible
    due = row.inpatient_deductible if referral is None else continuous_deductible_due(row, referral)
    ded = deductible(c, due)
    return decided(name=name, due=due, ded=ded, rate=rate, fund=rated_fund(c, ded, rate), referral=referral)


def _referring_admission(claim: Claim, history: Sequence[Decision], policy: BenefitPolicy) -> Decision | None:
    """The referring admission when the deductible counts continuously: an inpatient claim of the same person, applied
    before this one, discharged 0 to ``continuous_deductible_days`` days before this admission."""
    if not claim.referral_from:
        return None
    for d in history:
        r = d.claim
        if r.claim_id != claim.referral_from:
            continue
        if (r.inpatient and r.person_id == claim.person_id and r.discharge_date is not None
                and r.order_key < claim.order_key
                and 0 <= (claim.admit_date - r.discharge_date).days <= policy.continuous_deductible_days):
            return d
        return None
    return None


def adjudicate_person(claims: Iterable[Claim], *, person: Insured, institutions: Mapping[str, Institution],
                      designations: Mapping[int, DesignatedCare], year: int, policy: BenefitPolicy) -> list[Decision]:
    """The plain loop (the reference): every claim of one person up to ``year`` in (admit_date, claim_id) order;
    returns the decisions of ``year``. Earlier years are decided only so that a referral across the new year
    finds its referring admission; a year without a designation uses the one of ``year``. The person's chronic
    registry for the two-disease benefit comes from these claims (:func:`two_disease_registrations`)."""
    decisions: list[Decision] = []
    mine = sorted((c for c in claims if c.year <= year), key=lambda c: c.order_key)
    registered = two_disease_registrations(mine, policy.two_disease)
    for claim in mine:
        designation = designations.get(claim.year, designations.get(year))
        decisions.append(adjudicate_claim(claim, person=person, institution=institutions[claim.inst_id],
                                          designation=designation, policy=policy, history=decisions,
                                          registered=registered))
    return [d for d in decisions if d.claim.year == year]


_STATUS_TEXT = {
    NetworkStatus.DESIGNATED: ("定点机构", "a designated institution"),
    NetworkStatus.IN_CONSORTIUM: ("定点医共体内的其他机构", "another institution of the designated consortium"),
    NetworkStatus.OTHER_CONSORTIUM: ("非定点医共体的机构", "an institution of a consortium not designated"),
    NetworkStatus.OUTSIDE: ("医共体外医院", "a hospital outside every consortium"),
}


_PHRASES: dict[str, tuple[str, str]] = {
    "head": ("就医机构为{where}。规则：{rule}。总费用 {total} 元，政策范围内费用 {covered} 元。",
             "Care at {where}. Rule: {rule}. Total cost {total} yuan, covered cost {covered} yuan. "),
    "referral": ("转出住院已付起付线 {referral} 元，本次尚需 {due} 元。",
                 "The referring admission applied a deductible of {referral} yuan; {due} yuan remained due. "),
    "rate": ("起付线 {deductible} 元，报销比例 {rate}%，按比例应付 {before} 元。",
             "Deductible {deductible} yuan, fund rate {rate}%: {before} yuan before the cap. "),
    "flat": ("个人定额自付后基金应付 {before} 元。", "After the flat copay the fund owes {before} yuan. "),
    "two_disease": ("两病用药保障不设起付线，支付比例 {rate}%，年度限额 {td_cap} 元，本次前剩余 {td_left} 元，"
                    "应付 {before} 元。",
                    "The two-disease benefit has no deductible: {rate}% of the covered cost, within {td_cap} yuan a "
                    "year, {td_left} yuan left before this claim: {before} yuan. "),
    "cap": ("年度限额 {cap} 元，本次前剩余 {left} 元。",
            "Annual cap {cap} yuan, {left} yuan left before this claim. "),
    "paid": ("基金支付 {fund} 元，个人支付 {patient} 元。",
             "The fund pays {fund} yuan; the patient pays {patient} yuan."),
}


def _explain(d: Decision, *, zh: bool) -> str:
    """The decision in plain words, Chinese or English."""
    lang = 0 if zh else 1
    y = format_yuan
    values = {
        "where": _STATUS_TEXT[d.network_status][lang], "rule": RULE_TEXT[d.rule][lang],
        "total": y(d.claim.total_cost), "covered": y(d.claim.covered_cost), "due": y(d.deductible_due),
        "referral": y(d.referral_applied or 0), "deductible": y(d.deductible), "rate": f"{d.rate_bp / 100:g}",
        "before": y(d.fund_before_cap), "cap": y(d.cap), "left": y(d.cap_remaining), "fund": y(d.fund_paid),
        "patient": y(d.patient_paid), "td_left": y(d.two_disease_left or 0),
        "td_cap": y(d.two_disease_cap),
    }
    parts = ["head"]
    if d.row_name is not None:
        if d.referral_applied is not None:
            parts.append("referral")
        parts.append("flat" if d.flat_copay else "two_disease" if d.two_disease else "rate")
        if d.rule is Rule.ANNUAL_CAP:
            parts.append("cap")
    parts.append("paid")
    return "".join(_PHRASES[p][lang].format(**values) for p in parts)
