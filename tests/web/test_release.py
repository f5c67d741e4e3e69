"""The parsed body is freed after the response is sent (in close()), not before."""

from __future__ import annotations

import io
import sys
import weakref

import orjson
from flask import Flask, Response, g
from werkzeug.wsgi import ClosingIterator

from bench import patients
from cdshooks.app import create_app
from cdshooks.config import Settings
from cdshooks.web import release


class _Parsed:
    """Stands in for a parsed body (plain dicts cannot be weakly referenced)."""


def _environ(path: str, body: bytes = b"") -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "t", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


def _app(refs: list[weakref.ref], released: bool) -> Flask:
    """An app whose view parses a body (a weakly referenceable stand-in) the way json_body does."""
    app = Flask(__name__)
    if released:
        release.init_app(app)

    @app.post("/x")
    def view() -> Response:
        g.json_body = parsed = _Parsed()
        refs.append(weakref.ref(parsed))
        return Response(b"{}", mimetype="application/json")

    return app


def _call(app: Flask) -> ClosingIterator:
    return app(_environ("/x"), lambda status, headers, exc_info=None: None)


def test_the_body_outlives_the_request_until_the_response_is_closed():
    refs: list[weakref.ref] = []
    answer = _call(_app(refs, released=True))
    assert b"".join(answer) == b"{}"
    assert refs[0]() is not None  # the request context is gone, the body is not: the server is still writing
    answer.close()
    assert refs[0]() is None


def test_without_the_release_the_body_dies_before_the_response_is_written():
    # The test of the test: a plain Flask app frees it when the request context ends.
    refs: list[weakref.ref] = []
    answer = _call(_app(refs, released=False))
    assert refs[0]() is None
    answer.close()


def test_the_service_hands_its_parsed_body_to_the_response():
    app = create_app(Settings(auth_enabled=False, now=patients.AS_OF, feedback_db=":memory:"))
    body = orjson.dumps(patients.request("order-select", 30))
    statuses: list[str] = []
    answer = app(_environ(f"/cds-services/{patients.SERVICE['order-select']}", body),
                 lambda status, headers, exc_info=None: statuses.append(status))
    assert statuses == ["200 OK"]
    assert orjson.loads(b"".join(answer))["cards"]
    response = next(cb.__self__ for cb in answer._callbacks if isinstance(getattr(cb, "__self__", None), Response))
    held = [cb.__self__ for cb in response._on_close if isinstance(getattr(cb, "__self__", None), list)]
    assert len(held) == 1 and held[0][0]["hook"] == "order-select"  # the parsed body, alive until close()
    answer.close()
    assert held[0] == []
