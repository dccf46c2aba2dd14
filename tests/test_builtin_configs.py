"""Built-in configs: shipped with the package, resolved by name or path, listed by `vlnsim configs`."""
from __future__ import annotations

from pathlib import Path

import pytest

from vlnsim.builtin_configs import builtin_config_dir, config_names, describe, list_configs, resolve_config
from vlnsim.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
REPO_CONFIGS = sorted(p for p in (REPO / "configs").iterdir() if p.suffix in (".yaml", ".yml"))


def test_builtin_configs_are_the_repository_configs():
    # the package's configs/ is the top-level configs/ (a link in the checkout, copies in the wheel)
    assert builtin_config_dir().resolve() == (REPO / "configs").resolve()
    assert config_names() == [p.stem for p in REPO_CONFIGS]
    for c in list_configs():
        assert c.path.read_bytes() == (REPO / "configs" / c.path.name).read_bytes()
        assert c.description, f"{c.path.name} has no leading comment to describe it"


def test_pyproject_ships_the_configs_as_package_data():
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    pkg = data["tool"]["setuptools"]["package-data"]
    assert "configs/*.yaml" in pkg["vlnsim"]
    assert any(p.startswith("templates") for p in pkg["agents.report"])
    assert any(d.split(">")[0].split("=")[0].strip().lower() == "jinja2" for d in data["project"]["dependencies"])


@pytest.mark.parametrize("text, expected", [
    ("# Short one.\nkey: 1\n", "Short one."),
    ("\n# A sentence that\n# spans two lines. And more.\nkey: 1\n", "A sentence that spans two lines."),
    ("# Imitation learning: small frames\n# plus sensors.\n", "Imitation learning: small frames plus sensors."),
    ("key: 1  # not a header\n", ""),
    ("# version 0.2 m and more. Second.\n", "version 0.2 m and more."),
])
def test_describe_takes_the_first_sentence_of_the_leading_comment(tmp_path, text, expected):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    assert describe(f) == expected


def test_describe_cuts_long_sentences(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("# " + "word " * 60 + "\n")
    d = describe(f, max_chars=40)
    assert len(d) == 40 and d.endswith("\u2026")


def test_resolve_config_by_name_with_or_without_suffix_and_configs_prefix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the checkout: no configs/ here
    target = REPO_CONFIGS[0]
    for spelling in (target.stem, target.name, f"configs/{target.name}"):
        p = resolve_config(spelling)
        assert p.read_bytes() == target.read_bytes(), spelling


def test_resolve_config_prefers_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = REPO_CONFIGS[0].name
    (tmp_path / "configs").mkdir()
    local = tmp_path / "configs" / name
    local.write_text("# my own\nseed: 3\n")
    assert resolve_config(f"configs/{name}") == Path("configs") / name
    assert resolve_config(str(local)) == local


@pytest.mark.parametrize("bad", ["no_such_config", "configs/no_such.yaml", "elsewhere/il_cma_demo_cpu.yaml", ""])
def test_unknown_config_lists_the_choices(tmp_path, monkeypatch, bad):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as exc:
        resolve_config(bad)
    for name in config_names():
        assert name in str(exc.value)


def test_directory_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match="directory"):
        resolve_config(tmp_path)


def test_vlnsim_configs_command_lists_names_and_descriptions(capsys, tmp_path, monkeypatch):
    from vlnsim.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    for c in list_configs():
        line = next(l for l in out.splitlines() if l.split() and l.split()[0] == c.name)
        assert c.description[:30] in line
    name = REPO_CONFIGS[0].stem
    assert main(["configs", "--path", name]) == 0
    assert Path(capsys.readouterr().out.strip()).read_bytes() == REPO_CONFIGS[0].read_bytes()
    assert main(["configs", "--show", name]) == 0
    assert capsys.readouterr().out == REPO_CONFIGS[0].read_text()
    assert main(["configs", "--path", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
