"""The columnar in-memory form every reader produces: :class:`EventBatch` (SPEC §3.1).

One batch holds events of a single partonic channel (fixed particle content and order), so its
momenta are a dense ``(N, n, 4)`` float64 array.  Mixed-channel inputs become one batch per channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

F8 = npt.NDArray[np.float64]
I4 = npt.NDArray[np.int32]

#: per-event optional float64 columns, in the order they are documented
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "me2",
    "ps_weight",
    "pdf_weight",
    "x1",
    "x2",
    "muf2",
    "mur2",
    "alpha_s",
    "trials",
)


class EventBatchError(ValueError):
    """An :class:`EventBatch` was built from arrays that do not fit together."""


@dataclass(frozen=True, eq=False)
class EventBatch:
    """Events of one partonic channel, as columns.

    Parameters
    ----------
    momenta : ndarray, float64, shape (N, n, 4)
        (E, px, py, pz) in GeV, lab frame; incoming particles first, then the final state in the
        channel's canonical (Sherpa) order.
    pdg : ndarray, int32, shape (n,)
        PDG ids in the same order as ``momenta``'s second axis.
    weight : ndarray, float64, shape (N,)
        Full event weight (may be negative).  Unit weights where the source has none.
    process : str
        Sherpa-style process name, e.g. ``"2_3__e-__e+__G__d__db"`` (see :mod:`lhe_tools.process`).
    n_in : int
        Number of incoming particles (2 for collisions).
    me2, ps_weight, pdf_weight, x1, x2, muf2, mur2, alpha_s, trials : ndarray, float64, shape (N,), optional
        |M|^2 in the fame-dump normalisation, phase-space weight, PDF weight, momentum fractions,
        factorisation / renormalisation scales squared (GeV^2), strong coupling, trials per event.
    extra_weights : mapping of str to ndarray, float64, shape (N,)
        Named additional weights (e.g. LHEF3 ``<wgt id=...>``).
    meta : mapping
        Free-form provenance (generator, run card, sqrt_s, cuts, source file, ...).
    """

    momenta: F8
    pdg: I4
    weight: F8
    process: str = ""
    n_in: int = 2
    me2: F8 | None = None
    ps_weight: F8 | None = None
    pdf_weight: F8 | None = None
    x1: F8 | None = None
    x2: F8 | None = None
    muf2: F8 | None = None
    mur2: F8 | None = None
    alpha_s: F8 | None = None
    trials: F8 | None = None
    extra_weights: Mapping[str, F8] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        mom = np.ascontiguousarray(self.momenta, dtype=np.float64)
        if mom.ndim != 3 or mom.shape[2] != 4:
            raise EventBatchError(
                f"momenta must have shape (N, n, 4), found {mom.shape} (process {self.process!r})"
            )
        n_ev, n_part = mom.shape[:2]
        pdg = np.asarray(self.pdg, dtype=np.int32).reshape(-1)
        if pdg.shape != (n_part,):
            raise EventBatchError(
                f"pdg must have shape ({n_part},) to match momenta {mom.shape}, found {pdg.shape} "
                f"(process {self.process!r})"
            )
        object.__setattr__(self, "momenta", mom)
        object.__setattr__(self, "pdg", pdg)
        object.__setattr__(self, "weight", self._column("weight", self.weight, n_ev))
        for name in OPTIONAL_COLUMNS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, self._column(name, value, n_ev))
        extra = {k: self._column(f"extra_weights[{k!r}]", v, n_ev) for k, v in self.extra_weights.items()}
        object.__setattr__(self, "extra_weights", extra)
        object.__setattr__(self, "meta", dict(self.meta))
        if not 0 <= self.n_in <= n_part:
            raise EventBatchError(f"n_in={self.n_in} does not fit {n_part} particles")

    def _column(self, name: str, value: Any, n_ev: int) -> F8:
        arr = np.ascontiguousarray(value, dtype=np.float64).reshape(-1)
        if arr.shape != (n_ev,):
            raise EventBatchError(
                f"column {name} has shape {arr.shape}, expected ({n_ev},) (process {self.process!r})"
            )
        return arr

    def __len__(self) -> int:
        return int(self.momenta.shape[0])

    @property
    def n_particles(self) -> int:
        """Number of particles per event (incoming + outgoing)."""
        return int(self.momenta.shape[1])

    @property
    def n_out(self) -> int:
        """Number of outgoing particles."""
        return self.n_particles - self.n_in

    def columns(self) -> dict[str, F8]:
        """The per-event float64 columns that are set (weight first, then the optional ones)."""
        out = {"weight": self.weight}
        for name in OPTIONAL_COLUMNS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def take(self, index: npt.ArrayLike | slice) -> EventBatch:
        """A new batch with the events selected by ``index`` (slice, boolean mask or integer indices)."""
        idx = index if isinstance(index, slice) else np.asarray(index)
        changes: dict[str, Any] = {"momenta": self.momenta[idx], "weight": self.weight[idx]}
        for name in OPTIONAL_COLUMNS:
            value = getattr(self, name)
            if value is not None:
                changes[name] = value[idx]
        changes["extra_weights"] = {k: v[idx] for k, v in self.extra_weights.items()}
        return replace(self, **changes)

    def with_columns(self, **columns: Any) -> EventBatch:
        """A new batch with some fields replaced (e.g. ``me2=...``)."""
        return replace(self, **columns)

    def permuted(self, order: npt.ArrayLike, process: str | None = None) -> EventBatch:
        """Reorder particles: new particle ``k`` is old particle ``order[k]``."""
        perm = np.asarray(order, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(self.n_particles)):
            raise EventBatchError(f"{perm.tolist()} is not a permutation of {self.n_particles} particles")
        if not np.array_equal(perm[: self.n_in], np.arange(self.n_in)) and sorted(
            perm[: self.n_in].tolist()
        ) != list(range(self.n_in)):
            raise EventBatchError("a permutation may not move outgoing particles into the incoming slots")
        return replace(
            self,
            momenta=self.momenta[:, perm, :],
            pdg=self.pdg[perm],
            process=self.process if process is None else process,
        )

    def to_awkward(self) -> Any:
        """An awkward record array: per event ``particles`` (Momentum4D records with ``pdg``) and columns.

        Requires ``vector``; the particle records carry ``E, px, py, pz`` and vector's ``Momentum4D``
        behaviour, so ``arr.particles.mass`` and friends work.
        """
        import awkward as ak
        import vector

        vector.register_awkward()
        n_ev, n_part = len(self), self.n_particles
        pdg = np.broadcast_to(self.pdg, (n_ev, n_part))
        particles = ak.zip(
            {
                "E": self.momenta[..., 0],
                "px": self.momenta[..., 1],
                "py": self.momenta[..., 2],
                "pz": self.momenta[..., 3],
                "pdg": np.ascontiguousarray(pdg),
            },
            with_name="Momentum4D",
        )
        record = {"particles": particles, **self.columns()}
        return ak.zip(record, depth_limit=1)


def concatenate(batches: Iterable[EventBatch]) -> EventBatch:
    """Join batches of the same channel (same ``pdg`` and ``process``) along the event axis."""
    items = list(batches)
    if not items:
        raise EventBatchError("cannot concatenate an empty list of batches")
    first = items[0]
    for b in items[1:]:
        if not np.array_equal(b.pdg, first.pdg) or b.process != first.process:
            raise EventBatchError(
                f"cannot concatenate channel {b.process!r} {b.pdg.tolist()} onto "
                f"{first.process!r} {first.pdg.tolist()}"
            )
    changes: dict[str, Any] = {
        "momenta": np.concatenate([b.momenta for b in items]),
        "weight": np.concatenate([b.weight for b in items]),
    }
    for f in fields(EventBatch):
        if f.name in OPTIONAL_COLUMNS:
            vals = [getattr(b, f.name) for b in items]
            if all(v is not None for v in vals):
                changes[f.name] = np.concatenate(vals)
            else:
                changes[f.name] = None
    keys = set.intersection(*(set(b.extra_weights) for b in items))
    changes["extra_weights"] = {k: np.concatenate([b.extra_weights[k] for b in items]) for k in keys}
    return replace(first, **changes)
