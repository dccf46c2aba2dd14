"""The one rollout loop: an agent acts in an env until the episode ends.

``vlnsim eval`` (``agents.evaluation.evaluate_episodes``), ``vlnsim render-rollout``
(which adds a video frame per step through ``on_step``) and the trainers' evaluation
all run episodes through ``run_episode``. Agents have the rollout interface
``reset()`` / ``act(obs) -> (action, attention_weights | None)``; ablations blank inputs
before the agent sees them. Torch-free.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from vlnsim.errors import ConfigError

ABLATIONS = ("instruction", "vision")

StepCallback = Callable[[int, Optional[List[float]], Dict[str, Any]], None]


def ablate_observation(obs: Dict[str, np.ndarray], ablate: Optional[str]) -> Dict[str, np.ndarray]:
    """``instruction``: tokens replaced by padding; ``vision``: RGB, depth and semantic blanked.

    A blanked ``semantic_category`` is all category 0, "nothing hit".
    """
    if ablate is None:
        return obs
    if ablate not in ABLATIONS:
        raise ConfigError(f"ablation {ablate!r}; expected one of {list(ABLATIONS)} or none")
    obs = dict(obs)
    keys = ("instruction", "instruction_mask") if ablate == "instruction" else ("rgb", "depth", "semantic", "semantic_category")
    for k in keys:
        if k in obs:
            obs[k] = np.zeros_like(obs[k])
    return obs


def run_episode(env, agent, obs: Dict[str, Any], ablate: Optional[str] = None,
                on_step: Optional[StepCallback] = None) -> Tuple[List[int], Dict[str, Any]]:
    """Run the episode ``env`` was just reset to (first observation ``obs``) to its end.

    ``agent.reset()`` is called first; ``on_step(action, weights, info)`` after every
    step. Returns the actions taken and the final step's ``info`` (with ``metrics``).
    """
    agent.reset()
    actions: List[int] = []
    info: Dict[str, Any] = {}
    done = False
    while not done:
        action, weights = agent.act(ablate_observation(obs, ablate))
        obs, _, terminated, truncated, info = env.step(int(action))
        actions.append(int(action))
        if on_step is not None:
            on_step(int(action), weights, info)
        done = terminated or truncated
    return actions, info


def episode_record(actions: List[int], info: Dict[str, Any]) -> Dict[str, Any]:
    """The JSON record of a finished episode (``episodes.jsonl`` line)."""
    return {"episode_id": str(info["episode_id"]), "scene_id": info["scene_id"],
            "path": [[float(v) for v in p] for p in info["path"]], "actions": list(actions),
            "metrics": {k: float(v) for k, v in info["metrics"].items()}}
