"""Clinical logic: pure functions from a PatientRecord to Findings."""
