"""Scenes: the model, file I/O and procedural houses."""
from .model import Material, Room, Scene, SceneObject
