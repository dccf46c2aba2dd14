"""Agents for vlnsim: encoders, policies, heads, trainers, evaluation and the torch commands.

Layout: ``agents.encoders`` (CLIP towers, depth CNN, instruction encoders),
``agents.policies`` (``POLICIES`` registry: Seq2Seq, CMA, ...), ``agents.trainers``
(``TRAINERS`` registry: DAgger, PPO, ...; checkpoints, DDP helpers),
``agents.feature_cache``, ``agents.evaluation`` (the agent factory ``make_agent``),
``agents.rollout`` (the one rollout loop), ``agents.config`` (experiment YAML),
``agents.run_dir`` (run-directory rules of ``vlnsim train``), ``agents.commands``
(the ``vlnsim`` sub-commands registered as ``vlnsim.commands`` entry points). Sub-packages
import torch; importing ``agents`` itself (and ``agents.commands``) does not.
"""
