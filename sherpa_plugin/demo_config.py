"""Settings of ``fame demo`` (:func:`sherpa_plugin.demo.run_demo`), importable without the demo's stack.

``fame demo --help`` builds its options from :class:`DemoConfig` without importing training, export and
validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fame_surrogate.config import Clock, TrainConfig

__all__ = ["DemoConfig"]


@dataclass(frozen=True)
class DemoConfig:
    """Settings of :func:`sherpa_plugin.demo.run_demo` (the defaults take about 5 minutes of 2 CPU cores).

    Parameters
    ----------
    jets : tuple of int
        Jet multiplicities of e+e- → d d̄ + (n-2) g.
    train_points, validate_points : int
        Points per multiplicity for training (incl. the validation split of the training) and for the
        independent two-stage unweighting test.
    y_cut : float
        Global cut s_ij > y_cut·s.
    sqrt_s : float
        Centre-of-mass energy, GeV.
    seed : int
        Seed of the training data; the validation data use ``seed + 1000``.
    train : TrainConfig
        Surrogate training settings: ``fame train``'s defaults (two replicas per group, each its own Dask
        task) with a budget of 60 CPU seconds per replica (``clock="cpu"``), so a machine shared with other
        jobs stretches the wall time, not the training, and the three groups' training (6 CPU-minutes)
        fits the demo's five minutes on 2 cores.
    workers : int or None
        Local Dask workers (None: one per multiplicity, so the groups train side by side).
    sherpa_points : int
        Validation points per multiplicity at which Sherpa's ``MEProcess`` is timed (0: not at all); needs
        a Sherpa Python (``--sherpa-python``, ``FAME_SHERPA_PYTHON`` or ``.venv-sherpa``), else one line
        says so.
    sherpa_python : str or None
        Interpreter with ``sherpa-mc`` (default: ``FAME_SHERPA_PYTHON``, else the project's ``.venv-sherpa``).
    timing_repeats : int
        t_ME, t_surr and t_PS are the CPU time of the fastest of this many calls on 4096 points each.
    """

    jets: tuple[int, ...] = (3, 4, 5)
    train_points: int = 20000
    validate_points: int = 50000
    y_cut: float = 0.01
    sqrt_s: float = 1000.0
    seed: int = 1
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_seconds=60.0, clock=Clock.CPU))
    workers: int | None = None
    sherpa_points: int = 300
    sherpa_python: str | None = None
    timing_repeats: int = 5
