"""The arrows between packages only point down: an ast scan of every import in cdshooks/.

Function-level and TYPE_CHECKING imports count too: an arrow is an arrow. The
layers, bottom up: memo, terminology, data, clinical, cards, then the web
layer, the command line and the wiring (app.py) on top (README "Layout").
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Arrow:
    """A forbidden arrow: modules under `sources` must not import `targets` (except `allowed`)."""

    rule: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    exempt_sources: tuple[str, ...] = ()


OURS = ("cdshooks",)
FORBIDDEN = (
    Arrow("data and terminology never import clinical, cards, web or config",
          ("cdshooks.data", "cdshooks.terminology"),
          ("cdshooks.clinical", "cdshooks.cards", "cdshooks.web", "cdshooks.config")),
    Arrow("terminology imports nothing of ours but the memo utility",
          ("cdshooks.terminology",), OURS, allowed=("cdshooks.terminology", "cdshooks.memo")),
    Arrow("clinical never imports cards, an output adapter, web, security, config or cli",
          ("cdshooks.clinical",),
          ("cdshooks.cards", "cdshooks.markdown", "cdshooks.fhir_validation", "cdshooks.fhir_shapes", "cdshooks.web",
           "cdshooks.security", "cdshooks.config", "cdshooks.cli", "cdshooks.pipeline", "cdshooks.app")),
    Arrow("clinical reads data only through data/record.py",
          ("cdshooks.clinical",), ("cdshooks.data",), allowed=("cdshooks.data.record",)),
    Arrow("nothing but cli imports cli", OURS, ("cdshooks.cli",), exempt_sources=("cdshooks.cli",)),
    Arrow("only web (and app.py, the wiring place) imports flask or werkzeug",
          OURS, ("flask", "werkzeug"), exempt_sources=("cdshooks.web", "cdshooks.app")),
)


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """(line, imported name) for every import in a file; `from a import b` gives a.b."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def violations(root: Path) -> list[str]:
    """Every import under root/cdshooks that draws a forbidden arrow, as 'file:line: rule (name)'."""
    found = []
    for path in sorted((root / "cdshooks").rglob("*.py")):
        module = module_name(path, root)
        for line, name in imports(path, module):
            for arrow in FORBIDDEN:
                if not _under(module, arrow.sources) or _under(module, arrow.exempt_sources):
                    continue
                if _under(name, arrow.targets) and not _under(name, arrow.allowed):
                    found.append(f"{path.relative_to(root)}:{line}: {arrow.rule} ({name})")
    return found


def test_the_tree_keeps_its_layers():
    assert violations(ROOT) == []


# The test of the test: each arrow, drawn once in a throwaway tree, is reported.
DRAWN = {
    "cdshooks/clinical/rules/x.py": ("from cdshooks.cards import phrases\n", "clinical never imports cards"),
    "cdshooks/clinical/y.py": ("from cdshooks.markdown import bullets\n", "clinical never imports cards"),
    "cdshooks/clinical/z.py": ("from cdshooks.data.parsers import X\n", "clinical reads data only through"),
    "cdshooks/data/gather.py": ("def f():\n    import cdshooks.config\n", "data and terminology never import"),
    "cdshooks/terminology/lookup.py": ("from cdshooks.data.record import Coding\n", "terminology imports nothing"),
    "cdshooks/security/tokens.py": ("from flask import g\n", "only web (and app.py"),
    "cdshooks/web/hooks.py": ("from cdshooks.cli import main\n", "nothing but cli imports cli"),
    "cdshooks/data/builder.py": ("from ..clinical import engine\n", "data and terminology never import"),
}


@pytest.mark.parametrize("path", sorted(DRAWN))
def test_each_forbidden_arrow_is_reported(tmp_path: Path, path: str):
    source, rule = DRAWN[path]
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source, encoding="utf-8")
    found = violations(tmp_path)
    assert len(found) >= 1
    assert all(rule in f for f in found if f.startswith(path)), found


def test_allowed_arrows_are_not_reported(tmp_path: Path):
    allowed = {
        "cdshooks/clinical/labs.py": "from cdshooks.data.record import LabResult\nfrom cdshooks.terminology import lookup\n",
        "cdshooks/terminology/units.py": "from cdshooks.memo import bounded_memo\n",
        "cdshooks/cli/commands.py": "from cdshooks.cli.replay import replay\n",
        "cdshooks/web/hooks.py": "from flask import Blueprint\n",
        "cdshooks/app.py": "from flask import Flask\n",
    }
    for path, source in allowed.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source, encoding="utf-8")
    assert violations(tmp_path) == []
