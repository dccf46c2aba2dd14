"""``vlnsim.registry`` and the project's registries (trainers, policies, baselines)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from vlnsim.errors import ConfigError
from vlnsim.registry import LazyChoices, Registry


def test_register_get_meta_names_and_errors():
    r = Registry("widget")

    @r.register("b", size=2)
    class B:
        pass

    @r.register("a")
    def make_a():
        return "a"

    assert r.get("b") is B and r.get("a") is make_a
    assert r.meta("b") == {"size": 2} and r.meta("a") == {}
    assert r.names() == ["a", "b"] and "a" in r and "c" not in r and list(r) == ["a", "b"]
    with pytest.raises(ConfigError, match=r"unknown widget 'c'; expected one of \['a', 'b'\]"):
        r.get("c")
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        r.register("a")(B)


def test_discover_imports_the_package_modules_once():
    from agents.trainers.registry import TRAINERS

    assert "dagger" in TRAINERS.names()
    from agents.config import TrainerConfig
    from agents.trainers.il import ILTrainer

    assert TRAINERS.get("dagger") is ILTrainer and TRAINERS.meta("dagger")["config"] is TrainerConfig


def test_policy_and_baseline_registries_drive_the_builders():
    import envs
    from agents.config import PolicyConfig
    from agents.policies import CMAPolicy, Seq2SeqPolicy
    from agents.policies.registry import POLICIES
    from envs.baselines import BASELINES, ForwardOnlyAgent, RandomAgent, make_baseline

    assert POLICIES.get("cma") is CMAPolicy and POLICIES.get("seq2seq") is Seq2SeqPolicy
    assert POLICIES.meta("cma")["config"] is PolicyConfig
    assert {"random", "forward-only", "expert"} <= set(BASELINES.names())
    assert isinstance(make_baseline("random", seed=3), RandomAgent)
    assert isinstance(make_baseline("forward-only"), ForwardOnlyAgent)
    assert envs.BASELINES is BASELINES
    with pytest.raises(ConfigError, match="unknown baseline agent 'nobody'"):
        make_baseline("nobody")


def test_lazy_choices_resolve_only_when_parsing():
    p = argparse.ArgumentParser(prog="x")
    p.add_argument("--agent", choices=LazyChoices("envs.baselines:BASELINES"), metavar="NAME")
    assert p.parse_args(["--agent", "expert"]).agent == "expert"
    with pytest.raises(SystemExit):
        p.parse_args(["--agent", "nobody"])


def test_section_config_uses_the_registered_dataclass():
    from agents.config import section_config

    r = Registry("gizmo")

    @dataclass
    class GizmoConfig:
        type: str = "g"
        size: int = 1

    r.add("g", object, config=GizmoConfig)
    cfg = section_config(r, {"type": "g", "size": "4"}, "trainer", source="x.yaml", default="g")
    assert cfg == GizmoConfig(size=4)
    with pytest.raises(ConfigError, match=r"config x.yaml: unknown key 'trainer.colour'"):
        section_config(r, {"colour": 1}, "trainer", source="x.yaml", default="g")
    with pytest.raises(ConfigError, match=r"config x.yaml: trainer.type: unknown gizmo 'h'"):
        section_config(r, {"type": "h"}, "trainer", source="x.yaml", default="g")
