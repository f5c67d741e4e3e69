"""The thin HTTP layer: Flask blueprints translating HTTP to calls and errors to codes."""
