"""The domain a surrogate was trained on, and the events of an input that lie outside it (issue 19).

A surrogate is a fit: outside the phase space of its training data it returns numbers, not |M|².  The domain
is read from the model's metadata (``fame.sqrt_s``, ``fame.cuts``) and its training figures
(``fame.train`` / the manifest's ``train``: ``sqrt_shat_range``, the partonic √ŝ seen in training):

- lepton beams: every event's √ŝ equals ``sqrt_s`` (relative 1e-6), and with a ``y_cut`` every pair of
  final-state partons has s_ij ≥ y_cut · ŝ;
- hadron beams: √ŝ ≤ ``sqrt_s``, inside the training's √ŝ range (where recorded), and the generation cuts
  where the metadata names them (``mll``: the charged-lepton pair mass; ``jet_pt``: every final-state parton).

:func:`check_domain` counts the events outside per reason; ``fame predict``, ``fame validate`` and ``fame
reweight`` refuse such inputs unless ``--allow-out-of-domain`` is given (then they warn and count them).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lhe_tools import EventBatch
from lhe_tools.fourvec import mdot, msq

__all__ = ["Domain", "DomainError", "check_domain", "sqrt_shat"]

log = logging.getLogger(__name__)

F8 = npt.NDArray[np.float64]
B1 = npt.NDArray[np.bool_]

#: relative slack of every comparison (the stored momenta's rounding)
TOL = 1e-6
_PARTONS = frozenset((1, 2, 3, 4, 5, 6, 21))
_LEPTONS = frozenset(range(11, 17))
_CHARGED_LEPTONS = frozenset((11, 13, 15))


class DomainError(ValueError):
    """Events outside the domain a surrogate was trained on; the message names the input, counts and why."""


def sqrt_shat(batch: EventBatch) -> F8:
    """Partonic √ŝ of every event: the mass of the summed incoming momenta, GeV."""
    p = batch.momenta[:, : batch.n_in].sum(axis=1)
    return np.asarray(np.sqrt(np.clip(msq(p), 0.0, None)), dtype=np.float64)


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class Domain:
    """What a surrogate was trained on (None: not recorded, not checked)."""

    process: str
    sqrt_s: float | None = None
    y_cut: float | None = None
    mll: tuple[float, float] | None = None
    jet_pt: float | None = None
    sqrt_shat_range: tuple[float, float] | None = None

    @classmethod
    def from_metadata(cls, process: str, sqrt_s: Any, cuts: Any, train: Mapping[str, Any] | None) -> Domain:
        """From a model's ``sqrt_s`` and ``cuts`` metadata and its training figures."""
        cuts = cuts if isinstance(cuts, Mapping) else {}
        mll = cuts.get("mll")
        mll_pair = None
        if isinstance(mll, list | tuple) and len(mll) == 2:
            lo, hi = _float(mll[0]), _float(mll[1])
            if lo is not None and hi is not None:
                mll_pair = (lo, hi)
        rng = (train or {}).get("sqrt_shat_range")
        shat_pair = None
        if isinstance(rng, list | tuple) and len(rng) == 2:
            lo, hi = _float(rng[0]), _float(rng[1])
            if lo is not None and hi is not None:
                shat_pair = (lo, hi)
        return cls(
            process=process,
            sqrt_s=_float(sqrt_s),
            y_cut=_float(cuts.get("y_cut")),
            mll=mll_pair,
            jet_pt=_float(cuts.get("jet_pt")),
            sqrt_shat_range=shat_pair,
        )

    def describe(self) -> str:
        """The domain in words, for messages."""
        parts = [f"sqrt_s = {self.sqrt_s:g} GeV" if self.sqrt_s is not None else "sqrt_s not recorded"]
        if self.y_cut is not None:
            parts.append(f"y_cut = {self.y_cut:g}")
        if self.mll is not None:
            parts.append(f"mll in [{self.mll[0]:g}, {self.mll[1]:g}] GeV")
        if self.jet_pt is not None:
            parts.append(f"parton pT >= {self.jet_pt:g} GeV")
        if self.sqrt_shat_range is not None:
            parts.append(f"sqrt(shat) in [{self.sqrt_shat_range[0]:.6g}, {self.sqrt_shat_range[1]:.6g}] GeV")
        return ", ".join(parts)

    def outside(self, batch: EventBatch) -> dict[str, B1]:
        """Per reason, the events of ``batch`` outside this domain (only reasons with any event)."""
        pdg = [int(x) for x in batch.pdg]
        n_in = batch.n_in
        mom = batch.momenta
        lepton_beams = n_in == 2 and all(abs(x) in _LEPTONS for x in pdg[:n_in])
        root_s = sqrt_shat(batch)
        found: dict[str, B1] = {}
        if self.sqrt_s is not None:
            if lepton_beams:
                found["sqrt_s"] = np.abs(root_s - self.sqrt_s) > TOL * self.sqrt_s
            else:
                found["sqrt_s"] = root_s > self.sqrt_s * (1.0 + TOL)
        if self.sqrt_shat_range is not None and not lepton_beams:
            lo, hi = self.sqrt_shat_range
            found["sqrt_shat"] = (root_s < lo * (1.0 - TOL)) | (root_s > hi * (1.0 + TOL))
        final = list(range(n_in, len(pdg)))
        partons = [i for i in final if abs(pdg[i]) in _PARTONS]
        if self.y_cut is not None and lepton_beams and len(partons) >= 2:
            s = np.where(root_s > 0, root_s**2, np.inf)
            smin = np.full(len(batch), np.inf)
            for a, i in enumerate(partons):
                for j in partons[a + 1 :]:
                    pi, pj = mom[:, i], mom[:, j]
                    sij = 2.0 * mdot(pi, pj)
                    smin = np.minimum(smin, sij)
            found["y_cut"] = smin / s < self.y_cut * (1.0 - TOL)
        if self.jet_pt is not None and not lepton_beams and partons:
            pt = np.hypot(mom[:, partons, 1], mom[:, partons, 2])
            found["jet_pt"] = pt.min(axis=1) < self.jet_pt * (1.0 - TOL)
        leptons = [i for i in final if abs(pdg[i]) in _CHARGED_LEPTONS]
        if self.mll is not None and len(leptons) == 2:
            q = mom[:, leptons].sum(axis=1)
            m = np.sqrt(np.clip(msq(q), 0.0, None))
            found["mll"] = (m < self.mll[0] * (1.0 - TOL)) | (m > self.mll[1] * (1.0 + TOL))
        return {k: v for k, v in found.items() if v.any()}


def check_domain(
    domain: Domain, batch: EventBatch, where: str, *, allow: bool = False, first_event: int = 0
) -> dict[str, int]:
    """Count the events of ``batch`` outside ``domain`` per reason; refuse them unless ``allow``.

    Parameters
    ----------
    domain : Domain
        The surrogate's domain.
    batch : EventBatch
        Events of one channel.
    where : str
        The input, for messages.
    allow : bool
        Warn and return the counts instead of raising.
    first_event : int
        Index of the batch's first event, for messages.

    Returns
    -------
    dict
        Reason → events outside (empty when all are inside); ``"total"`` with the union.

    Raises
    ------
    DomainError
        Some events are outside and ``allow`` is not set.
    """
    found = domain.outside(batch)
    if not found:
        return {}
    union = np.zeros(len(batch), dtype=bool)
    for mask in found.values():
        union |= mask
    counts = {k: int(v.sum()) for k, v in found.items()}
    counts["total"] = int(union.sum())
    first = first_event + int(np.flatnonzero(union)[0])
    message = (
        f"{where}: {counts['total']} of {len(batch)} {batch.process or 'channel'} events lie outside the "
        f"domain the surrogate {domain.process} was trained on ({domain.describe()}); outside by "
        f"{ {k: v for k, v in counts.items() if k != 'total'} }, first at event {first}, whose sqrt(shat) is "
        f"{sqrt_shat(batch.take(slice(first - first_event, first - first_event + 1)))[0]:.6g} GeV"
    )
    if not allow:
        raise DomainError(message + "; pass --allow-out-of-domain to use the surrogate there anyway")
    log.warning("%s (--allow-out-of-domain: used anyway)", message)
    return counts
