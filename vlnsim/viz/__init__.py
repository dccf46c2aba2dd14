"""Visualisation: top-down maps (topdown.py) and rollout frames/video."""
