"""Flat (ragged) event columns as parsed from a file, and their split into per-channel :class:`EventBatch`es.

Particles with LHE status -1 are incoming, status +1 outgoing; status 0 (used by some transport codes such
as GiBUU, outside the LHE standard) is read as outgoing.  Intermediate and documentation lines (status ±2, 3,
-9, …) are dropped from the momenta and do not enter the channel.  The channel is the particle content; its
name and particle order come from :func:`lhe_tools.process.canonical_channel` (Sherpa's canonical order).
Content that Sherpa cannot name (hadrons, BSM ids, no incoming particles) gets a PDG-number name
``<nin>_<nout>__<id>__<id>…`` with each part sorted by id, and ``meta["canonical"] = False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .batch import EventBatch

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]

#: per-event float columns of :class:`FlatEvents` that map onto EventBatch columns of the same name
EVENT_COLUMNS: tuple[str, ...] = ("trials", "muf2", "mur2", "alpha_s")


@dataclass
class FlatEvents:
    """Events with a variable number of particles, as flat columns.

    Attributes
    ----------
    nup : ndarray, int64, shape (N,)
        Particles per event (all statuses).
    idprup : ndarray, int64, shape (N,)
        Process id of each event.
    weight : ndarray, float64, shape (N,)
        Event weight (XWGTUP).
    pdg, status : ndarray, int64, shape (P,)
        PDG id and status of every particle, event after event (P = nup.sum()).
    momenta : ndarray, float64, shape (P, 4)
        (E, px, py, pz) in GeV.
    columns : dict of str to ndarray, float64, shape (N,)
        Optional per-event columns (``trials``, ``muf2``, ``mur2``, ``alpha_s``); NaN where an event has none.
    extra_weights : dict of str to ndarray, float64, shape (N,)
        Named weights; NaN where an event does not carry the id.
    """

    nup: I8
    idprup: I8
    weight: F8
    pdg: I8
    status: I8
    momenta: F8
    columns: dict[str, F8] = field(default_factory=dict)
    extra_weights: dict[str, F8] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.nup.shape[0])

    def take(self, start: int, stop: int) -> FlatEvents:
        """Events ``start:stop`` (a contiguous range)."""
        offsets = np.concatenate(([0], np.cumsum(self.nup)))
        p0, p1 = int(offsets[start]), int(offsets[stop])
        return FlatEvents(
            nup=self.nup[start:stop],
            idprup=self.idprup[start:stop],
            weight=self.weight[start:stop],
            pdg=self.pdg[p0:p1],
            status=self.status[p0:p1],
            momenta=self.momenta[p0:p1],
            columns={k: v[start:stop] for k, v in self.columns.items()},
            extra_weights={k: v[start:stop] for k, v in self.extra_weights.items()},
        )


def concat_flat(parts: list[FlatEvents]) -> FlatEvents:
    """Join :class:`FlatEvents` along the event axis; a column missing in a part is NaN there."""
    if len(parts) == 1:
        return parts[0]

    def col(name: str, src: str) -> F8:
        return np.concatenate([getattr(p, src).get(name, np.full(len(p), np.nan)) for p in parts])

    col_names = sorted({k for p in parts for k in p.columns})
    wgt_names = list(dict.fromkeys(k for p in parts for k in p.extra_weights))
    return FlatEvents(
        nup=np.concatenate([p.nup for p in parts]),
        idprup=np.concatenate([p.idprup for p in parts]),
        weight=np.concatenate([p.weight for p in parts]),
        pdg=np.concatenate([p.pdg for p in parts]),
        status=np.concatenate([p.status for p in parts]),
        momenta=np.concatenate([p.momenta for p in parts]),
        columns={k: col(k, "columns") for k in col_names},
        extra_weights={k: col(k, "extra_weights") for k in wgt_names},
    )


def _fallback_channel(pdg: list[int], n_in: int) -> tuple[str, I8]:
    order = sorted(range(n_in), key=lambda i: (pdg[i], i)) + sorted(
        range(n_in, len(pdg)), key=lambda i: (pdg[i], i)
    )
    names = "__".join(str(pdg[i]) for i in order)
    return f"{n_in}_{len(pdg) - n_in}__{names}", np.asarray(order, dtype=np.int64)


def channel_of(pdg: list[int], n_in: int) -> tuple[str, I8, bool]:
    """Name and canonical order of a channel; ``canonical`` is False for the PDG-number fallback name."""
    from .process import canonical_channel

    try:
        name, order = canonical_channel(pdg, n_in)
    except ValueError:
        name, order = _fallback_channel(pdg, n_in)
        return name, order, False
    return name, np.asarray(order, dtype=np.int64), True


def split_channels(
    flat: FlatEvents,
    meta: Mapping[str, Any],
    *,
    first_event: int = 0,
    cache: dict[tuple[tuple[int, ...], int], tuple[str, I8, bool]] | None = None,
) -> list[EventBatch]:
    """Split flat events into one :class:`EventBatch` per channel, in canonical particle order.

    Parameters
    ----------
    flat : FlatEvents
    meta : mapping
        Provenance copied into every batch's ``meta`` (plus ``canonical``, ``first_event`` and, when
        intermediate lines were dropped from this chunk, ``dropped_statuses``).
    first_event : int
        Index in the file of the first event of ``flat`` (recorded in ``meta``).
    cache : dict, optional
        Memo of :func:`channel_of` results, shared between calls by a reader.

    Returns
    -------
    list of EventBatch
        Ordered by first appearance of the channel; events inside a batch keep the file order.
    """
    n_ev = len(flat)
    if n_ev == 0:
        return []
    ev_of = np.repeat(np.arange(n_ev), flat.nup)
    incoming = flat.status == -1
    kept = incoming | (flat.status == 1) | (flat.status == 0)
    idx = np.flatnonzero(kept)
    dropped = np.unique(flat.status[~kept]).tolist() if idx.size < kept.size else []
    # kept particles sorted by (event, incoming first, file position)
    order = idx[np.lexsort((idx, ~incoming[idx], ev_of[idx]))]
    n_kept = np.bincount(ev_of[idx], minlength=n_ev)
    n_in = np.bincount(ev_of[idx], weights=incoming[idx], minlength=n_ev).astype(np.int64)
    width = int(n_kept.max()) if n_ev else 0
    starts = np.concatenate(([0], np.cumsum(n_kept)[:-1]))
    key = np.full((n_ev, width + 2), -(1 << 40), dtype=np.int64)
    key[:, 0] = n_in
    key[:, 1] = n_kept
    rank = np.arange(order.size) - np.repeat(starts, n_kept)
    key[ev_of[order], 2 + rank] = flat.pdg[order]
    # group rows by a polynomial hash, then check every row equals its group's first row (no collisions)
    weights = np.cumprod(np.full(width + 2, 1_000_003, dtype=np.uint64)).astype(np.uint64)
    with np.errstate(over="ignore"):
        hashed = (key.astype(np.uint64) * weights[None, :]).sum(axis=1, dtype=np.uint64)
    _, first_pos, inverse = np.unique(hashed, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(key, key[first_pos[inverse]]):
        _, first_pos, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    by_group = np.argsort(inverse, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(inverse, minlength=first_pos.size))))
    groups: dict[str, list[tuple[I8, F8]]] = {}
    info: dict[str, tuple[I8, int, bool]] = {}
    memo = cache if cache is not None else {}
    rows = key[first_pos].tolist()
    for u in np.argsort(first_pos, kind="stable").tolist():
        events = by_group[bounds[u] : bounds[u + 1]]
        row = rows[u]
        nin, n = row[0], row[1]
        pdg = row[2 : 2 + n]
        # same content in another file order shares one channel_of call: name it sorted, then compose
        by_id = sorted(range(nin), key=pdg.__getitem__) + sorted(range(nin, n), key=pdg.__getitem__)
        sorted_pdg = tuple(pdg[i] for i in by_id)
        ckey = (sorted_pdg, nin)
        if ckey not in memo:
            memo[ckey] = channel_of(list(sorted_pdg), nin)
        name, perm_sorted, canonical = memo[ckey]
        perm = np.asarray(by_id, dtype=np.int64)[perm_sorted]
        pidx = order[starts[events][:, None] + perm[None, :]]
        groups.setdefault(name, []).append((events, flat.momenta[pidx]))
        info.setdefault(name, (np.asarray(pdg, dtype=np.int64)[perm], nin, canonical))
    out: list[EventBatch] = []
    for name, items in groups.items():
        if len(items) == 1:
            events, momenta = items[0]
        else:
            events = np.concatenate([e for e, _ in items])
            momenta = np.concatenate([m for _, m in items])
            resort = np.argsort(events, kind="stable")
            events, momenta = events[resort], momenta[resort]
        pdg_c, nin, canonical = info[name]
        cols: dict[str, F8] = {}
        for cname, values in flat.columns.items():
            v = values[events]
            if not np.all(np.isnan(v)):
                cols[cname] = v
        batch_meta = dict(meta)
        batch_meta["canonical"] = canonical
        batch_meta["first_event"] = first_event
        if dropped:
            batch_meta["dropped_statuses"] = dropped
        out.append(
            EventBatch(
                momenta=momenta,
                pdg=pdg_c.astype(np.int32),
                weight=flat.weight[events],
                process=name,
                n_in=nin,
                extra_weights={k: v[events] for k, v in flat.extra_weights.items()},
                meta=batch_meta,
                **cols,
            )
        )
    return out
