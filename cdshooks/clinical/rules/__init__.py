"""One module per rule family; each registers its rules with `cdshooks.engine.rule`.

Every module in this package is imported by `cdshooks.engine.load_rules`.
"""
