"""Interoperability (互联互通): FHIR resources and the national insurance platform's formats."""
