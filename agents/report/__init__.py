"""Static HTML evaluation reports (``vlnsim report``).

``build_report(paths, out)`` reads evaluation directories (``metrics.json`` +
``episodes.jsonl`` from ``vlnsim eval``), training runs (TensorBoard event files) and
rollout videos (``vlnsim render-rollout``) and writes a self-contained site: a sortable
summary table with provenance, learning curves as SVG, and an episode browser whose
pages show the top-down map, the instruction (with attended words when recorded), the
actions, the metrics and the video. Modules: ``sources`` (finding and reading inputs),
``curves`` (event files -> SVG), ``maps`` (episode maps), ``episode_view`` (page
fields), ``site`` (templates -> files). Torch-free.
"""
from .site import build_report

__all__ = ["build_report"]
