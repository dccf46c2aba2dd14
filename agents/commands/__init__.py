"""``vlnsim`` sub-commands of the agents layer (train, eval, render-rollout, demo).

Each module exposes ``register(subparsers)`` and is listed in the ``vlnsim.commands``
entry-point group of ``pyproject.toml``; torch, ``envs`` and the rest of ``agents`` are
imported only inside each command's ``main``.
"""
