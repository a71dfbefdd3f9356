"""Independent runs of one channel joined into one sample, with their recorded CPU times combined.

Two ``fame sherpa dump`` runs of the same setup with other seeds (or a validation run made in two parts) are
one larger sample of the same distribution: the events concatenate, and σ = Σ weight / Σ trials holds over
the join.  Each run records Sherpa's time per point in its ``meta`` (``me_cpu_ms_per_point``, …), measured
under that run's load; the joined sample's time per point is the event-weighted mean of the runs', which is
the total time over the total number of points.  A time that some run does not record is dropped from the
join rather than taken from one run, so a consumer measures it or says it is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lhe_tools import EventBatch, concatenate

__all__ = ["TIME_KEYS", "join_runs"]

#: the per-point and per-event times a dump's meta records (ms; wall and CPU)
TIME_KEYS: tuple[str, ...] = (
    "me_ms_per_point",
    "me_cpu_ms_per_point",
    "ps_ms_per_point",
    "ps_cpu_ms_per_point",
    "gen_ms_per_event",
    "gen_cpu_ms_per_event",
)


def join_runs(runs: Sequence[EventBatch]) -> EventBatch:
    """Join independent runs of one channel: events in order, recorded times their event-weighted means.

    Parameters
    ----------
    runs : sequence of EventBatch
        One or more batches of the same channel (``pdg`` and ``process``), e.g. read with
        :func:`lhe_tools.read_dump` from runs with other seeds.

    Returns
    -------
    EventBatch
        ``lhe_tools.concatenate(runs)`` (the first run's ``meta`` otherwise), with each key of
        :data:`TIME_KEYS` set to Σ n_i t_i / Σ n_i over the runs (n_i events, t_i ms) where every run
        records it, and removed where one does not; ``n_points`` is the joined count.  A single run is
        returned as it is.

    Raises
    ------
    lhe_tools.EventBatchError
        If the runs are not of one channel, or none is given.
    """
    items = list(runs)
    if len(items) == 1:
        return items[0]
    joined = concatenate(items)
    meta = dict(joined.meta)
    n_all = len(joined)
    for key in TIME_KEYS:
        if all(key in b.meta and b.meta[key] is not None for b in items):
            meta[key] = sum(len(b) * float(b.meta[key]) for b in items) / n_all
        else:
            meta.pop(key, None)
    meta["n_points"] = n_all
    return replace(joined, meta=meta)
