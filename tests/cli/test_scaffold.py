"""`cdshooks fixtures new`: scenarios around the base patient, from package data alone."""

from __future__ import annotations

import json

import pytest

from cdshooks.cli import commands as cli
from cdshooks.cli import scaffold
from cdshooks.services import SERVICES
from tests import fixturekit as k


def _without_instance(request: dict) -> dict:
    return {key: v for key, v in request.items() if key != "hookInstance"}


@pytest.mark.parametrize(
    "hook, kit_request",
    [
        ("order-select", lambda: k.order_select([k.tofacitinib_draft()])),
        ("order-sign", lambda: k.order_sign([k.tofacitinib_draft()])),
        ("patient-view", lambda: k.patient_view()),
    ],
)
def test_packaged_template_matches_the_fixture_kit(hook, kit_request):
    # The template is a copy of tests/fixturekit.py's base patient; this keeps them equal.
    assert _without_instance(scaffold.request(hook)) == _without_instance(kit_request())


def test_template_as_of_is_the_kits():
    assert scaffold.template()["asOf"] == k.AS_OF.isoformat().replace("+00:00", "Z")


def test_each_request_gets_a_fresh_hook_instance():
    assert scaffold.request("patient-view")["hookInstance"] != scaffold.request("patient-view")["hookInstance"]


def test_new_writes_a_scenario_for_the_hook(tmp_path):
    path = scaffold.new("renal-case", "order-sign", tmp_path)
    doc = json.loads(path.read_text())
    assert path == tmp_path / "renal-case" / "scenario.json"
    assert doc["service"] == "tofacitinib-order-sign" and SERVICES[doc["service"]].hook == doc["request"]["hook"]
    assert doc["expect"] == {"topics": ["dose-guidance"], "indicators": {"dose-guidance": "info"}}
    assert doc["description"].startswith("TODO")


@pytest.mark.parametrize("hook", scaffold.HOOKS)
def test_a_new_scenario_passes_the_fixture_tests_as_written(tmp_path, settings, hook):
    # `make test` right after `fixtures new`: the scenario expects the base cards it fires.
    from tests.scenarios.test_fixtures import test_scenario

    path = scaffold.new("case", hook, tmp_path)
    test_scenario(path, settings)
    assert json.loads(path.read_text())["expect"]["topics"]  # the base cards, not nothing


def test_the_base_cards_are_evaluated_with_default_thresholds(tmp_path, monkeypatch):
    # The tests use the default thresholds, whatever CDSHOOKS_RULES_CONFIG says in this shell.
    monkeypatch.setenv("CDSHOOKS_RULES_CONFIG", str(tmp_path / "no-such-file.toml"))
    path = scaffold.new("case", "patient-view", tmp_path)
    assert json.loads(path.read_text())["expect"]["topics"] == ["safety-summary"]


def test_new_refuses_to_overwrite_bad_names_and_unknown_hooks(tmp_path):
    scaffold.new("case", root=tmp_path)
    with pytest.raises(FileExistsError):
        scaffold.new("case", root=tmp_path)
    scaffold.new("case", "patient-view", tmp_path, force=True)
    assert json.loads((tmp_path / "case" / "scenario.json").read_text())["request"]["hook"] == "patient-view"
    for bad in ("Has Space", "../escape", "", "x" * 65):
        with pytest.raises(ValueError):
            scaffold.new(bad, root=tmp_path)
    with pytest.raises(ValueError):
        scaffold.new("ok", "medication-prescribe", tmp_path)


def test_cli_scaffolds_then_validates(tmp_path, capsys):
    assert cli.main(["fixtures", "new", "my-case", "--hook", "patient-view", "--root", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / "my-case" / "scenario.json")
    assert "Fires: safety-summary (info)" in err
    assert cli.main(["validate", str(tmp_path)]) == 0
    assert cli.main(["fixtures", "new", "my-case", "--root", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
