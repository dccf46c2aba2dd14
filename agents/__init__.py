"""Agents for vlnsim: encoders, policies, imitation-learning trainers and evaluation.

Layout: ``agents.encoders`` (CLIP towers, depth CNN, instruction encoders),
``agents.policies`` (Seq2Seq, CMA), ``agents.trainers`` (teacher forcing + DAgger,
checkpoints, DDP helpers), ``agents.feature_cache``, ``agents.evaluation``,
``agents.config`` (experiment YAML). Sub-packages import torch; importing ``agents``
itself does not.
"""
