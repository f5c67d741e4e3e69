"""FHIR suggestions the cards offer: dose choices, the updated draft, reduced and new orders."""
