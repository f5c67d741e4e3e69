"""Data gathering (prefetch, FHIR fallback) and the PatientRecord."""
