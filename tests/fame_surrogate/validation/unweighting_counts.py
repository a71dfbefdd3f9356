"""Count the events and CPU milliseconds of standard and two-stage unweighting by drawing the accept/reject
decisions (the tests of :mod:`fame_surrogate.validation.gain` check their formulas against these counts)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F8 = npt.NDArray[np.float64]


def count_unweighted(
    rng: np.random.Generator,
    passes: int,
    p_std: F8,
    p1: F8,
    p2: F8,
    ms_std: float,
    ms_surr: float,
    t_me: float,
) -> tuple[F8, F8]:
    """Unweighted events and CPU ms, ``[standard, two-stage]``, over ``passes`` passes through one sample.

    Standard unweighting pays ``ms_std`` per point and keeps it with probability ``p_std``; two-stage pays
    ``ms_surr`` per point, keeps it in stage 1 with ``p1``, pays the exact ME ``t_me`` for the survivors and
    keeps them with ``p2``.  Each pass draws fresh uniform numbers (an event is kept when its draw falls
    below its acceptance probability).
    """
    n = p_std.size
    events, ms = np.zeros(2), np.zeros(2)
    for _ in range(passes):
        ms[0] += n * ms_std
        events[0] += np.count_nonzero(rng.random(n) < p_std)
        stage1 = rng.random(n) < p1
        ms[1] += n * ms_surr + np.count_nonzero(stage1) * t_me
        events[1] += np.count_nonzero(stage1 & (rng.random(n) < p2))
    return events, ms
