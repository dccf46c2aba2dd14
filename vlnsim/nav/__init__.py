"""Navigation: navigability grid, path finding, shortest-path expert.

``NavGrid``/``get_navgrid`` (grid.py), ``PathFinder`` (pathfinder.py, smoothing.py) and
``ShortestPathFollower`` (follower.py); ``boxworld`` builds box scenes with an exact
free-space reference.
"""
from .follower import ShortestPathFollower
from .grid import NavGrid, build_navgrid, clear_navgrid_cache, geometry_hash, get_navgrid
from .pathfinder import PathFinder

__all__ = ["NavGrid", "PathFinder", "ShortestPathFollower", "build_navgrid", "clear_navgrid_cache", "geometry_hash", "get_navgrid"]
