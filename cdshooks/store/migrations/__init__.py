"""Versioned SQL schema files, one folder per backend (`sqlite/`, `postgresql/`): NNNN_name.sql."""
