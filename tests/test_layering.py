"""The layering is one-way: ``vlnsim`` imports nothing from ``envs`` or ``agents``.

``envs`` and ``agents`` plug their commands into the ``vlnsim`` CLI through the
``vlnsim.commands`` entry-point group; ``vlnsim --help`` still lists every command
without importing torch or the envs layer.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UPPER = ("agents", "envs")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_vlnsim_sources_import_nothing_from_envs_or_agents():
    bad = []
    files = sorted((REPO / "vlnsim").rglob("*.py"))
    assert len(files) > 20
    for f in files:
        for line, mod in _imports(f):
            if mod.split(".")[0] in UPPER:
                bad.append(f"{f.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, "vlnsim must not depend on the layers above it:\n" + "\n".join(bad)


def test_envs_imports_nothing_from_agents():
    bad = [f"{f.relative_to(REPO)}:{line} imports {mod}" for f in sorted((REPO / "envs").rglob("*.py"))
           for line, mod in _imports(f) if mod.split(".")[0] == "agents"]
    assert not bad, "\n".join(bad)


_PROBE = r"""
import io, json, sys, contextlib
import vlnsim, vlnsim.cli, vlnsim.registry, vlnsim.config, vlnsim.errors
after_import = sorted(m for m in sys.modules if m.split(".")[0] in ("agents", "envs", "torch", "gymnasium"))
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    try:
        vlnsim.cli.main(["--help"])
    except SystemExit as exc:
        code = exc.code
after_help = sorted(m for m in sys.modules if m.split(".")[0] in ("agents", "envs", "torch", "gymnasium"))
print(json.dumps({"after_import": after_import, "after_help": after_help, "help": buf.getvalue(), "code": code}))
"""


def test_import_and_help_load_no_upper_layer_and_no_torch():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["after_import"] == []
    # --help imports each command's module (to read its help line) and nothing behind it:
    # the agents commands are thin argparse modules; torch, envs and gymnasium stay unloaded.
    loaded = res["after_help"]
    assert not [m for m in loaded if m.split(".")[0] in ("torch", "envs", "gymnasium")], loaded
    assert all(m == "agents" or m == "agents.commands" or m.startswith("agents.commands.") for m in loaded), loaded
    assert res["code"] in (0, None)
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["vlnsim.commands"]
    for name in ("generate", "dataset-stats", "view", "bench", "train", "eval", "render-rollout", "demo"):
        assert name in declared
    for name in declared:  # the installed metadata matches pyproject.toml (reinstall with pip install -e . if not)
        assert f"    {name}" in res["help"], (name, res["help"])


def test_no_command_module_in_vlnsim_needs_agents_or_envs():
    """The torch/env commands live in agents/commands (or envs/commands), not vlnsim/commands."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["vlnsim.commands"]
    for name, target in declared.items():
        module = target.split(":")[0]
        assert module.split(".")[0] in ("vlnsim", "agents", "envs"), target
        path = REPO / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"entry point {name} -> {target}: {path} missing"




def test_tests_do_not_import_each_other():
    names = {p.stem for p in (REPO / "tests").glob("*.py")}
    bad = []
    for f in sorted((REPO / "tests").glob("test_*.py")):
        for line, mod in _imports(f):
            top = mod.split(".")[0]
            # helper modules (tests/*_fixtures.py) may be shared; test modules may not
            if top == "tests" or (top in names and top.startswith("test_")):
                bad.append(f"{f.name}:{line} imports {mod}")
    assert not bad, "share helpers through tests/conftest.py fixtures or a tests/<topic>_fixtures.py module instead:\n" + "\n".join(bad)


def test_no_importorskip_of_the_project_itself():
    bad = []
    for f in sorted((REPO / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "importorskip" and node.args \
                    and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).split(".")[0] in ("vlnsim", *UPPER):
                bad.append(f"{f.name}:{node.lineno} importorskip({node.args[0].value!r})")
    assert not bad, "the project's own modules are always installed:\n" + "\n".join(bad)
