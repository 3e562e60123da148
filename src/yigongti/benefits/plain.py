"""The benefit rules in plain words (待遇说明): what a resident pays where, written from the policy in force.

Every sentence is computed from :class:`~yigongti.core.policy.BenefitPolicy` (a county's own policy says its own
amounts), Chinese first with its English twin, for the resident's household page: "您在定点村卫生室或乡镇卫生院看门诊，
每次只付 20 元".
"""

from __future__ import annotations

from dataclasses import dataclass

from yigongti.core.labels import format_money
from yigongti.core.policy import BenefitPolicy, BenefitRow, Insurance

__all__ = ["PlainRule", "plain_rules"]


@dataclass(frozen=True)
class PlainRule:
    """One benefit rule in plain words: the rule code it explains (``benefits.domain.Rule``) and the sentence."""

    rule: str
    zh: str
    en: str


def _yuan(fen: int) -> str:
    text = format_money(fen)
    return text[:-3] if text.endswith(".00") else text


def _pct(bp: int) -> str:
    return f"{bp / 100:g}%"


def _rate(policy: BenefitPolicy, row: BenefitRow, *, inpatient: bool, insurance: str) -> str:
    return _pct(policy.fund_rate(row, inpatient=inpatient, insurance=insurance))


def plain_rules(policy: BenefitPolicy, insurance: str = Insurance.RESIDENT) -> list[PlainRule]:
    """The rules a resident of ``insurance`` meets, in the order a visit meets them."""
    dp, dc = policy.designated_primary, policy.designated_county
    ip, ic = policy.in_consortium_primary, policy.in_consortium_county
    out2, out3 = policy.outside_secondary, policy.outside_tertiary
    flat = _yuan(policy.flat_copay)
    ins = insurance

    def ded(row: BenefitRow, inpatient: bool) -> str:
        return _yuan(row.inpatient_deductible if inpatient else row.outpatient_deductible)

    rules = []
    if dp.outpatient_flat_copay:
        rules.append(PlainRule(
            "flat_copay",
            f"您在定点的村卫生室或乡镇卫生院看门诊，每次只付 {flat} 元，其余由医保基金支付。",
            f"An outpatient visit at your designated village clinic or township centre costs you {flat} yuan; "
            f"the fund pays the rest."))
    rules.append(PlainRule(
        "inpatient",
        f"在定点乡镇卫生院住院：先自付 {ded(dp, True)} 元（起付线），超过的部分医保报销 "
        f"{_rate(policy, dp, inpatient=True, insurance=ins)}；在定点医共体的县级医院住院：起付线 {ded(dc, True)} 元，"
        f"报销 {_rate(policy, dc, inpatient=True, insurance=ins)}。",
        f"A stay at your designated township centre: you pay the first {ded(dp, True)} yuan (the deductible), the "
        f"fund pays {_rate(policy, dp, inpatient=True, insurance=ins)} of the rest; at your consortium's county "
        f"hospital: deductible {ded(dc, True)} yuan, the fund pays "
        f"{_rate(policy, dc, inpatient=True, insurance=ins)}."))
    rules.append(PlainRule(
        "outpatient",
        f"在定点医共体内的其他机构看门诊：每年先自付 {ded(ip, False)} 元，超过的部分报销 "
        f"{_rate(policy, ip, inpatient=False, insurance=ins)}；住院起付线 {ded(ip, True)} 元（乡镇）或 "
        f"{ded(ic, True)} 元（县级），报销 {_rate(policy, ip, inpatient=True, insurance=ins)} 或 "
        f"{_rate(policy, ic, inpatient=True, insurance=ins)}。",
        f"Other institutions of your designated consortium: outpatient, you pay the first {ded(ip, False)} yuan a "
        f"year, the fund pays {_rate(policy, ip, inpatient=False, insurance=ins)} of the rest; a stay, deductible "
        f"{ded(ip, True)} yuan (township) or {ded(ic, True)} yuan (county), the fund pays "
        f"{_rate(policy, ip, inpatient=True, insurance=ins)} or {_rate(policy, ic, inpatient=True, insurance=ins)}."))
    rules.append(PlainRule(
        "no_benefit",
        "在其他医共体看病，医保不报销；急诊除外（按医共体外医院报销）。",
        "Care at another consortium is not paid by the fund, except an emergency (paid as at an outside hospital)."))
    rules.append(PlainRule(
        "outside_hospital",
        f"转诊到医共体外的医院：起付线 {ded(out2, True)} 元（二级）或 {ded(out3, True)} 元（三级），报销 "
        f"{_rate(policy, out2, inpatient=True, insurance=ins)} 或 "
        f"{_rate(policy, out3, inpatient=True, insurance=ins)}。",
        f"A hospital outside every consortium: deductible {ded(out2, True)} yuan (secondary) or {ded(out3, True)} "
        f"yuan (tertiary), the fund pays {_rate(policy, out2, inpatient=True, insurance=ins)} or "
        f"{_rate(policy, out3, inpatient=True, insurance=ins)}."))
    rules.append(PlainRule(
        "continuous_deductible",
        f"出院后 {policy.continuous_deductible_days} 天内经转诊再住院，起付线只补差额，不重复缴纳。",
        f"Referred to another stay within {policy.continuous_deductible_days} days of leaving: you pay only the "
        f"difference of the deductibles, not a second one."))
    td = policy.two_disease
    if td.enabled and ins in td.insurance:
        where_zh = "、".join(z for t, z in (("primary", "乡镇卫生院和村卫生室"), ("county", "县级医院"))
                             if t in td.tiers)
        where_en = " and ".join(e for t, e in (("primary", "township centres and village clinics"),
                                               ("county", "county hospitals")) if t in td.tiers)
        rules.append(PlainRule(
            "two_disease",
            f"已登记的高血压、糖尿病患者在定点医共体的{where_zh}看该病门诊：不设起付线，报销 {_pct(td.rate)}，"
            f"每年最多 {_yuan(td.yearly_cap)} 元（两病用药保障）。",
            f"Registered with hypertension or diabetes: an outpatient visit for it at your consortium's {where_en} has "
            f"no deductible, the fund pays {_pct(td.rate)}, up to {_yuan(td.yearly_cap)} yuan a year (the two-disease "
            f"drug benefit)."))
    cap = _yuan(policy.annual_cap(ins))
    rules.append(PlainRule(
        "annual_cap",
        f"医保基金每年最多为您支付 {cap} 元。",
        f"The fund pays at most {cap} yuan for you in a year."))
    return rules
