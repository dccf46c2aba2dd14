"""PointNav policy (agents/policies/pointnav.py), the VLN critic adapter (critic.py) and the
depth-encoder hand-off into the VLN policies (``policy.depth.pretrained``)."""
from __future__ import annotations

import pytest
import torch

from agents.config import DepthConfig, PolicyConfig, policy_config
from agents.policies import build_policy
from agents.policies.critic import VLNActorCritic
from agents.policies.pointnav import PointNavPolicy, PointNavPolicyConfig, load_pretrained_depth
from agents.policies.registry import POLICIES
from agents.trainers.checkpoint import save_checkpoint
from vlnsim.errors import ConfigError

B, S = 3, 32


def _pointnav(channels=(16, 32, 32), output_dim=128, seed=0) -> PointNavPolicy:
    torch.manual_seed(seed)
    return PointNavPolicy(PointNavPolicyConfig(hidden_size=32, depth=DepthConfig(channels=list(channels), output_dim=output_dim,
                                                                                 input_size=32)))


def _obs(g, b=B):
    return {"depth": torch.rand(b, S, S, 1, generator=g) * 6, "pointgoal_with_gps_compass": torch.rand(b, 2, generator=g)}


def test_registered_and_config_round_trips():
    assert "pointnav" in POLICIES.names()
    cfg = policy_config({"type": "pointnav", "hidden_size": 64, "depth": {"output_dim": 32}})
    assert isinstance(cfg, PointNavPolicyConfig) and cfg.hidden_size == 64 and cfg.depth.output_dim == 32
    assert cfg.depth.input_size == 32  # the other depth fields keep the CPU defaults
    with pytest.raises(ConfigError, match="policy.hidden_size"):
        policy_config({"type": "pointnav", "hidden_size": 0}).validate()


def test_masks_reset_the_recurrent_state_and_previous_action():
    p = _pointnav().eval()
    g = torch.Generator().manual_seed(0)
    obs = _obs(g)
    h_random = torch.randn(B, 1, 32, generator=g)
    with torch.no_grad():
        fresh = p.act(obs, p.initial_hidden(B), torch.zeros(B, dtype=torch.long), torch.zeros(B))
        reset = p.act(obs, h_random, torch.tensor([1, 2, 3]), torch.zeros(B))
        carried = p.act(obs, h_random, torch.tensor([1, 2, 3]), torch.ones(B))
    assert torch.allclose(fresh[2]["logits"], reset[2]["logits"]) and torch.allclose(fresh[2]["value"], reset[2]["value"])
    assert not torch.allclose(fresh[2]["logits"], carried[2]["logits"])


def test_goal_observation_steers_the_policy():
    p = _pointnav().eval()
    g = torch.Generator().manual_seed(1)
    obs = _obs(g)
    other = dict(obs, pointgoal_with_gps_compass=obs["pointgoal_with_gps_compass"] + torch.tensor([2.0, 1.5]))
    h, pa, m = p.initial_hidden(B), torch.zeros(B, dtype=torch.long), torch.zeros(B)
    with torch.no_grad():
        assert not torch.allclose(p.get_value(obs, h, pa, m), p.get_value(other, h, pa, m))


def test_sequence_pass_equals_stepwise_acting_across_episode_boundaries():
    p = _pointnav().eval()
    g = torch.Generator().manual_seed(2)
    T = 5
    seq = {"depth": torch.rand(T, B, S, S, 1, generator=g) * 6, "pointgoal_with_gps_compass": torch.rand(T, B, 2, generator=g)}
    masks = torch.tensor([[0, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=torch.float32)
    hidden = p.initial_hidden(B)
    prev = torch.zeros(B, dtype=torch.long)
    actions, logps, values = [], [], []
    with torch.no_grad():
        for t in range(T):
            a, hidden, ex = p.act({k: v[t] for k, v in seq.items()}, hidden, prev, masks[t], deterministic=False, generator=g)
            actions.append(a)
            logps.append(ex["log_prob"])
            values.append(ex["value"])
            prev = a
        actions = torch.stack(actions)
        prev_actions = torch.cat([torch.zeros(1, B, dtype=torch.long), actions[:-1]])
        out = p.evaluate_rollout(seq, p.initial_hidden(B), prev_actions, masks, actions)
    assert torch.allclose(out.log_probs, torch.stack(logps), atol=1e-5)
    assert torch.allclose(out.values, torch.stack(values), atol=1e-5)
    assert out.entropy.shape == (T, B) and bool((out.entropy > 0).all())


def _save(policy, root) -> str:
    meta = {"config": {"policy": {"type": "pointnav", "depth": {"channels": list(policy.config.depth.channels)}}}}
    save_checkpoint(root / "checkpoints", 3, policy, None, meta)
    return str(root)


def _cma(depth_overrides) -> torch.nn.Module:
    c = PolicyConfig(type="cma", hidden_size=32, rgb_dim=16, depth_dim=16, attention_dim=16, prev_action_dim=8)
    c.instruction.embedding_dim, c.instruction.hidden_size = 16, 16
    c.depth = DepthConfig(**{"channels": [16, 32, 32], "output_dim": 128, "input_size": 32, **depth_overrides})
    torch.manual_seed(123)
    return build_policy(c, 40, None)


def test_depth_handoff_loads_the_same_weights_frozen_or_trainable(tmp_path):
    src = _pointnav(seed=7)
    path = _save(src, tmp_path / "pointnav_run")
    want = src.depth_encoder.state_dict()
    random_cma = _cma({})
    assert not torch.equal(random_cma.depth_encoder.stem[0].weight, want["stem.0.weight"])
    for trainable in (False, True):
        cma = _cma({"pretrained": path, "trainable": trainable})
        got = cma.depth_encoder.state_dict()
        assert set(got) == set(want)
        assert all(torch.equal(got[k], want[k]) for k in want)
        assert all(p.requires_grad == trainable for p in cma.depth_encoder.stages.parameters())
        # the features the CMA attends over are the PointNav encoder's
        d = torch.rand(2, S, S, 1) * 5
        assert torch.allclose(cma.depth_encoder.spatial_features(d), src.depth_encoder.spatial_features(d))


def test_depth_handoff_pool_of_another_size_keeps_fresh_init_and_trunk_mismatch_is_an_error(tmp_path):
    src = _pointnav(seed=8)
    path = _save(src, tmp_path / "run")
    cma = _cma({"pretrained": path, "output_dim": 64})
    assert torch.equal(cma.depth_encoder.stem[0].weight, src.depth_encoder.stem[0].weight)
    assert cma.depth_encoder.pool[1].weight.shape == (64, 512)
    with pytest.raises(ConfigError, match="policy.depth.channels"):
        _cma({"pretrained": path, "channels": [8, 16, 32]})
    empty = tmp_path / "nodepth"
    save_checkpoint(empty / "checkpoints", 0, torch.nn.Linear(2, 2), None, {})
    with pytest.raises(ConfigError, match="holds no 'depth_encoder"):
        load_pretrained_depth(cma.depth_encoder, str(empty))


def test_vln_actor_critic_keeps_policy_checkpoint_keys_and_scores_rollouts():
    cma = _cma({})
    ac = VLNActorCritic(cma)
    policy_module, extra = ac.checkpoint_parts()
    assert policy_module is cma and set(extra) and all(k.startswith("critic.") for k in extra)
    g = torch.Generator().manual_seed(3)
    T, L = 4, 7
    ins = torch.randint(1, 40, (B, L), generator=g)
    obs = {"depth": torch.rand(T, B, S, S, 1, generator=g) * 5,
           "instruction": ins.unsqueeze(0).expand(T, B, L).clone(), "instruction_mask": torch.ones(T, B, L, dtype=torch.bool)}
    obs["instruction"][2:, 0] = torch.randint(1, 40, (L,), generator=g)  # env 0 starts a new episode at t=2
    masks = torch.ones(T, B)
    masks[0] = 0
    masks[2, 0] = 0
    hidden, prev = ac.initial_hidden(B), torch.zeros(B, dtype=torch.long)
    acts, logps, vals = [], [], []
    with torch.no_grad():
        for t in range(T):
            a, hidden, ex = ac.act({k: v[t] for k, v in obs.items()}, hidden, prev, masks[t], deterministic=False, generator=g)
            acts.append(a), logps.append(ex["log_prob"]), vals.append(ex["value"])
            prev = a
        actions = torch.stack(acts)
        out = ac.evaluate_rollout(obs, ac.initial_hidden(B), torch.cat([torch.zeros(1, B, dtype=torch.long), actions[:-1]]),
                                  masks, actions)
    assert torch.allclose(out.log_probs, torch.stack(logps), atol=1e-5)
    assert torch.allclose(out.values, torch.stack(vals), atol=1e-5)
