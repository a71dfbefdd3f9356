"""Physics checks at the reader boundary: every batch a reader returns has sane momenta and a consistent name.

Checked once, where events enter fame (:func:`lhe_tools.read_dump`, :func:`lhe_tools.read_events`):

- every momentum component is finite;
- every energy is non-negative (within ``E_TOL`` of the event's incoming energy);
- four-momentum is conserved: |Σ p_in − Σ p_out| ≤ ``P_TOL`` × Σ E_in for each component;
- the process name, if it is a channel name, lists the same incoming and outgoing particles as ``pdg``;
  anything else must be a plain label (letters, digits, ``_ + -``; no dots or path separators).

Errors name the file, the event (index within the file for fame dumps, within the channel's events of the file
otherwise) and what was expected.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from .batch import EventBatch, EventBatchError

__all__ = ["E_TOL", "P_TOL", "PhysicsInputError", "check_batch"]

#: relative tolerance of four-momentum conservation (of the event's summed incoming energy)
P_TOL = 1e-6
#: relative tolerance of a negative energy (of the event's summed incoming energy)
E_TOL = 1e-9


#: a free-form process label that is not a channel name: letters first, then letters, digits, _ + -
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*$")


class PhysicsInputError(EventBatchError):
    """Unphysical momenta or an inconsistent process name; the message names the file and the event."""


def _name_matches(process: str, pdg: tuple[int, ...], n_in: int) -> str | None:
    """None if ``process`` (a Sherpa name or generic ids) agrees with ``pdg``/``n_in``; else the problem."""
    from .process import parse_process_name

    head = process.partition("__")[0].split("_")
    if len(head) != 2 or not all(h.isdigit() for h in head):
        if _LABEL.match(process):
            return None  # a free label (no channel name): nothing to compare, nothing a path could abuse
        return "is neither a channel name of the form '<nin>_<nout>__<particle>__…' nor a plain label"
    parts = process.split("__")[1:]
    try:
        if parts and all(x.lstrip("-").isdigit() for x in parts):  # generic ids of a non-canonical channel
            named, named_in = tuple(int(x) for x in parts), int(head[0])
            if len(named) != named_in + int(head[1]):
                return f"has {len(named)} ids but its header says {head[0]}+{head[1]}"
        else:
            named, named_in = parse_process_name(process)
    except (ValueError, KeyError) as err:
        return f"is not a valid Sherpa process name ({err})"
    if named_in != n_in or Counter(named[:named_in]) != Counter(pdg[:n_in]) or Counter(
        named[named_in:]
    ) != Counter(pdg[n_in:]):
        return f"names particles {list(named)} ({named_in} incoming)"
    return None


def check_batch(batch: EventBatch, where: str, first_event: int = 0, *, event_word: str = "event") -> None:
    """Raise :class:`PhysicsInputError` for the first unphysical event or an inconsistent process name.

    Parameters
    ----------
    batch : EventBatch
        Events as read.
    where : str
        The file, for the message.
    first_event : int
        Index of the batch's first event (within the file, or within the channel's events of the file).
    event_word : str
        How the index is described in messages (e.g. ``"event"``, or ``"2_3__e-__e+__G__d__db event"``).
    """
    pdg = tuple(int(x) for x in batch.pdg)
    if batch.process:
        problem = _name_matches(batch.process, pdg, batch.n_in)
        if problem is not None:
            raise PhysicsInputError(
                f"{where}: process name {batch.process!r} disagrees with the particles pdg={list(pdg)} "
                f"(n_in={batch.n_in}): it {problem}"
            )
    p = batch.momenta
    if len(batch) == 0:
        return
    finite = np.isfinite(p).all(axis=(1, 2))
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise PhysicsInputError(
            f"{where}: {event_word} {first_event + i}: momenta are not finite ({p[i].tolist()}); "
            "expected finite (E, px, py, pz) in GeV"
        )
    n_in = batch.n_in
    scale = np.maximum(p[:, :n_in, 0].sum(axis=1), np.abs(p[..., 0]).max(axis=1))
    scale = np.where(scale > 0, scale, 1.0)
    neg = p[..., 0] < -E_TOL * scale[:, None]
    if neg.any():
        i, j = (int(x) for x in np.argwhere(neg)[0])
        raise PhysicsInputError(
            f"{where}: {event_word} {first_event + i}: particle {j} (pdg {pdg[j]}) has negative energy "
            f"{p[i, j, 0]!r} GeV; expected E >= 0"
        )
    if 0 < n_in < p.shape[1]:
        diff = p[:, :n_in].sum(axis=1) - p[:, n_in:].sum(axis=1)
        bad = np.abs(diff).max(axis=1) > P_TOL * scale
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise PhysicsInputError(
                f"{where}: {event_word} {first_event + i}: four-momentum not conserved: incoming minus "
                f"outgoing = {diff[i].tolist()} GeV; expected zero within {P_TOL:g} of the incoming energy "
                f"{scale[i]:.6g} GeV"
            )
