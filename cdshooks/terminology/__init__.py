"""Value sets (as JSON data), code/name matching and unit normalization."""
