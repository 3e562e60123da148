"""``/api/fhir/DiagnosticReport/{id}``: a shared centre's remote read as a FHIR R4 DiagnosticReport (远程诊断报告).

The same party check and audit as ``/api/diagnoses/{id}`` (the ordering institution's clinicians and the centre's
staff; anyone else 404). Status: ``ordered``/``accepted`` -> ``registered``, ``reported`` -> ``final``,
``rejected``/``cancelled`` -> ``cancelled``; a ``recognised`` order (结果互认) is ``final`` with the conclusion of
the result it recognised, whose order it names in ``identifier``. The category is the diagnostic service section
(RAD, EC, US, LAB, PAT of HL7 v2 table 0074), the code the centre's kind.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from yigongti.centres.domain import KIND_LABELS, Status
from yigongti.centres.service import OrderDetail, order_detail
from yigongti.centres.uow import CentresUnitOfWork
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession
from yigongti.platform.deps import run_use_case as _run

__all__ = ["diagnostic_report", "router"]

router = APIRouter(prefix="/api/fhir", tags=["FHIR"])
FHIR_JSON = "application/fhir+json"
CHINA = timezone(timedelta(hours=8))
KIND_SYSTEM = "urn:yigongti:remote-diagnosis-kind"
ORDER_SYSTEM = "urn:yigongti:diagnosis-order"
SECTION = {"imaging": "RAD", "ecg": "EC", "ultrasound": "US", "lab": "LAB", "pathology": "PAT"}
_STATUS = {Status.ORDERED: "registered", Status.ACCEPTED: "registered", Status.REPORTED: "final",
           Status.REJECTED: "cancelled", Status.CANCELLED: "cancelled", Status.RECOGNISED: "final"}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope"}}


def _instant(at: datetime) -> str:
    return at.replace(tzinfo=CHINA).isoformat(timespec="seconds")


def diagnostic_report(d: OrderDetail) -> DiagnosticReport:
    """The FHIR resource of an order and its report (or the result it recognised)."""
    o = d.order
    shown = d.earlier if o.status == Status.RECOGNISED and d.earlier is not None else o
    identifiers = [{"system": ORDER_SYSTEM, "value": f"D{o.order_id}"}]
    if shown is not o:
        identifiers.append({"system": ORDER_SYSTEM, "value": f"D{shown.order_id}", "use": "secondary"})
    doc: dict[str, Any] = {
        "id": f"D{o.order_id}",
        "identifier": identifiers,
        "status": _STATUS[Status(o.status)],
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                  "code": SECTION[o.kind]}]}],
        "code": {"coding": [{"system": KIND_SYSTEM, "code": o.kind}], "text": KIND_LABELS.get(o.kind, o.kind)},
        "subject": {"reference": f"Patient/{o.person_id}"},
        "effectiveDateTime": _instant(o.ordered_at),
        "performer": [{"reference": f"Organization/{shown.to_inst_id}"}],
    }
    if shown.reported_at is not None and shown.report:
        doc["issued"] = _instant(shown.reported_at)
        doc["conclusion"] = shown.report
        if shown.abnormal is not None:
            doc["conclusionCode"] = [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                "code": "A" if shown.abnormal else "N"}]}]
    return DiagnosticReport.model_validate(doc)


@router.get("/DiagnosticReport/{report_id}", responses=_NOT_FOUND, response_class=Response)
def read_diagnostic_report(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                           report_id: Annotated[str, Path(pattern=r"^D[0-9]{1,10}$")]) -> Response:
    """A remote read (``D<order_id>``) for the ordering institution or the centre (audited)."""
    order_id = int(report_id[1:])
    d = _run(lambda: order_detail(CentresUnitOfWork(db), principal, order_id, policy=ctx.policy.referral,
                                  now=ctx.clock.now()))
    return Response(diagnostic_report(d).model_dump_json(exclude_none=True), media_type=FHIR_JSON)
