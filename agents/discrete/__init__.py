"""Agents for the discrete (R2R) setting: panorama feature extraction, baselines, an IL-trained agent."""
