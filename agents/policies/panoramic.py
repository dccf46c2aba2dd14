"""Registers the discrete setting's panoramic-action Seq2Seq (``agents.discrete.policy``) in
``POLICIES`` as ``r2r_seq2seq``.

``policy.type: r2r_seq2seq`` (configs/r2r_seq2seq.yaml) selects it; its ``policy:`` section
is ``R2RPolicyConfig``. It scores STOP + graph candidates from precomputed panorama
features, so only discrete-setting trainers (``r2r_dagger``) use it: the entry's meta
``setting="discrete"`` tells them apart from the continuous policies.
"""
from __future__ import annotations

from ..discrete.policy import R2RPolicyConfig, build_r2r_policy
from .registry import POLICIES

POLICIES.register("r2r_seq2seq", config=R2RPolicyConfig, setting="discrete")(build_r2r_policy)
