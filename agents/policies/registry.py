"""``POLICIES``: the navigation policies, chosen by ``policy.type``.

A policy is one module in ``agents/policies/`` (found on the first lookup)::

    @POLICIES.register("cma", config=PolicyConfig)
    class CMAPolicy(Policy): ...

``config`` is the dataclass that validates the ``policy:`` section (it has a
``type: str`` field). Built-in: ``cma`` (cross-modal attention) and ``seq2seq``.
"""
from __future__ import annotations

from vlnsim.registry import Registry

POLICIES = Registry("policy", discover=("agents.policies",))
