"""One module per rule family; each registers its rules with `cdshooks.clinical.engine.rule`.

Every module in this package is imported by `cdshooks.clinical.engine.load_rules`.
"""
