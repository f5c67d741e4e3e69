"""Value set JSON files (package data)."""
