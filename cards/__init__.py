"""Card templates (TOML), shipped as package data `cdshooks.card_templates`."""
