"""FHIR read endpoints (FHIR 接口): Patient, Organization, Coverage (the designation), Claim and ClaimResponse (the
adjudication) and MeasureReport (the indicators), built with and validated by the ``fhir.resources`` models
(FHIR R4B, the R4-compatible release those models offer for pydantic 2)."""

from yigongti.interop.fhir.routes import router

__all__ = ["router"]
