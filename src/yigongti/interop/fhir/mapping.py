"""Rows of yigongti -> FHIR resources (R4B models of ``fhir.resources``). Pure functions; money in yuan (CNY)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.measurereport import MeasureReport
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient

from yigongti.benefits.domain import Claim as BenefitClaim
from yigongti.benefits.domain import Decision
from yigongti.core.idnumber import mask_id_number

__all__ = [
    "SYSTEM",
    "claim",
    "claim_response",
    "consortium_organization",
    "coverage",
    "measure_report",
    "organization",
    "patient",
]

SYSTEM = {
    "person": "urn:yigongti:person",
    "id_number": "urn:oid:2.16.156.10011.1.5.1.1",  # 居民身份证号码
    "institution": "urn:yigongti:institution",
    "consortium": "urn:yigongti:consortium",
    "tier": "urn:yigongti:tier",
    "network": "urn:yigongti:network-status",
    "rule": "urn:yigongti:benefit-rule",
    "indicator": "urn:yigongti:indicator",
}
CLAIM_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}
PAYOR = "Organization/insurance-bureau"


def _money(fen: int) -> dict[str, object]:
    return {"value": Decimal(fen) / 100, "currency": "CNY"}


def patient(
    *,
    person_id: str,
    sex: str,
    birth_date: date,
    id_number: str | None,
    county_code: str,
    household_id: str,
    show_id_number: bool,
) -> Patient:
    identifiers = [{"system": SYSTEM["person"], "value": person_id}]
    if id_number:
        identifiers.append(
            {
                "system": SYSTEM["id_number"],
                "value": id_number if show_id_number else mask_id_number(id_number),
            }
        )
    return Patient.model_validate(
        {
            "id": person_id,
            "identifier": identifiers,
            "active": True,
            "gender": "male" if sex == "M" else "female",
            "birthDate": birth_date,
            "address": [{"district": county_code, "country": "CN", "text": f"household {household_id}"}],
        }
    )


def organization(
    *, inst_id: str, name: str, tier: str, kind: str, consortium_id: str | None, parent_id: str | None
) -> Organization:
    part_of = parent_id or consortium_id
    return Organization.model_validate(
        {
            "id": inst_id,
            "identifier": [{"system": SYSTEM["institution"], "value": inst_id}],
            "active": True,
            "name": name,
            "type": [{"coding": [{"system": SYSTEM["tier"], "code": tier}], "text": kind}],
            "partOf": {"reference": f"Organization/{part_of}"} if part_of else None,
        }
    )


def consortium_organization(*, consortium_id: str, name: str, lead_inst_id: str) -> Organization:
    return Organization.model_validate(
        {
            "id": consortium_id,
            "identifier": [{"system": SYSTEM["consortium"], "value": consortium_id}],
            "active": True,
            "name": name,
            "type": [
                {
                    "coding": [{"system": SYSTEM["tier"], "code": "consortium"}],
                    "text": f"county medical community led by {lead_inst_id}",
                }
            ],
        }
    )


def coverage(
    *,
    person_id: str,
    year: int,
    insurance: str,
    consortium_id: str,
    township_id: str,
    village_id: str,
    source: str,
) -> Coverage:
    """The designation of ``year`` (定点) as the Coverage of the person, its three institutions as classes."""
    classes = [
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}
                ]
            },
            "value": consortium_id,
            "name": "consortium 医共体",
        },
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "subgroup"}
                ]
            },
            "value": township_id,
            "name": "township institution 乡镇级机构",
        },
        {
            "type": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]
            },
            "value": village_id,
            "name": "village institution 村级机构",
        },
    ]
    return Coverage.model_validate(
        dict(
            id=f"{person_id}-{year}",
            status="active",
            beneficiary={"reference": f"Patient/{person_id}"},
            payor=[{"reference": PAYOR}],
            type={"text": f"{insurance} insurance; designation source {source}"},
            period={"start": date(year, 1, 1), "end": date(year, 12, 31)},
            **{"class": classes},
        )
    )


def _claim_header(c: BenefitClaim) -> dict[str, Any]:
    """What a Claim and its ClaimResponse share: id, status, type, use, patient, created."""
    return {"id": c.claim_id, "status": "active", "type": {"coding": [CLAIM_TYPE]}, "use": "claim",
            "patient": {"reference": f"Patient/{c.person_id}"}, "created": c.admit_date}


def claim(d: Decision, *, year: int) -> Claim:
    c = d.claim
    return Claim.model_validate(
        {
            **_claim_header(c),
            "billablePeriod": {"start": c.admit_date, "end": c.discharge_date or c.admit_date},
            "provider": {"reference": f"Organization/{c.inst_id}"},
            "priority": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                        "code": "stat" if c.emergency else "normal",
                    }
                ]
            },
            "insurance": [
                {"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{c.person_id}-{year}"}}
            ],
            "item": [{"sequence": 1, "productOrService": {"text": c.setting}, "net": _money(c.total_cost)}],
            "total": _money(c.total_cost),
            "related": [
                {"claim": {"reference": f"Claim/{c.referral_from}"}, "relationship": {"text": "referral"}}
            ]
            if c.referral_from
            else None,
        }
    )


def claim_response(d: Decision) -> ClaimResponse:
    c = d.claim
    return ClaimResponse.model_validate(
        {
            **_claim_header(c),
            "insurer": {"reference": PAYOR},
            "request": {"reference": f"Claim/{c.claim_id}"},
            "outcome": "complete",
            "disposition": f"{d.explanation_zh} / {d.explanation_en}",
            "total": [
                {
                    "category": {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": code}
                        ]
                    },
                    "amount": _money(amount),
                }
                for code, amount in (
                    ("submitted", c.total_cost),
                    ("eligible", c.covered_cost),
                    ("deductible", d.deductible),
                    ("benefit", d.fund_paid),
                )
            ],
            "payment": {"type": {"text": "fund payment 统筹支付"}, "amount": _money(d.fund_paid)},
            "processNote": [
                {
                    "number": 1,
                    "text": f"network_status={d.network_status.value}; rule={d.rule.value}; "
                    f"patient_paid={Decimal(d.patient_paid) / 100}",
                }
            ],
        }
    )


def measure_report(
    *, scope: str, year: int, values: Iterable[tuple[str, str, str | None, str | None]]
) -> MeasureReport:
    """Indicators of one scope: (indicator id, name, value, unit) each as a group with its score."""
    groups = []
    for ind_id, name, value, unit in values:
        g: dict[str, object] = {
            "code": {"coding": [{"system": SYSTEM["indicator"], "code": ind_id}], "text": name}
        }
        if value is not None:
            g["measureScore"] = {"value": Decimal(value), "unit": unit or ""}
        groups.append(g)
    return MeasureReport.model_validate(
        {
            "id": f"{scope}-{year}",
            "status": "complete",
            "type": "summary",
            "measure": "urn:yigongti:indicator-set",
            "period": {"start": date(year, 1, 1), "end": date(year, 12, 31)},
            "reporter": {"reference": f"Organization/{scope}"},
            "group": groups,
        }
    )
