"""Fixtures of the JWT test kit (tests/jwt_kit.py) for these tests."""

from tests.jwt_kit import auth_settings, es384, gunicorn_server, make_auth_app, rs384  # noqa: F401
