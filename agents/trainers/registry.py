"""``TRAINERS``: the trainers ``vlnsim train`` can run, chosen by ``trainer.type``.

A trainer is one module in ``agents/trainers/`` (found on the first lookup) plus a YAML
config::

    @TRAINERS.register("ppo", config=PPOTrainerConfig)
    class PPOTrainer:
        def __init__(self, cfg: ExperimentConfig, device: str, dist_info: DistInfo, progress: bool): ...
        def train(self, resume: bool = False, max_steps: Optional[int] = None) -> dict: ...
        def close(self) -> None: ...

``config`` is the dataclass that validates the ``trainer:`` section (it has a
``type: str`` field defaulting to the registered name); ``train`` returns a dict with
``checkpoint``, ``global_step`` and ``history``. Built-in: ``dagger``
(``agents.trainers.il.ILTrainer``, teacher forcing + DAgger).
"""
from __future__ import annotations

from vlnsim.registry import Registry

TRAINERS = Registry("trainer", discover=("agents.trainers",))
