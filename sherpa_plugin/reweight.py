"""Surrogate weights for existing LHE files (issue 8): ``fame reweight IN --bundle B --out OUT``.

For every event whose channel (named as the LHE reader names it, see
:meth:`lhe_tools.reweight.LHEChunk.channel_batches`) is a member of the bundle, two weights are added (in
XWGTUP units, like every LHEF 3 weight):

- ``<prefix>``: ``XWGTUP * me2_surr / me2_ref``, the event weight reweighted from the reference |M|² to the
  surrogate's;
- ``<prefix>_std_up``: ``<prefix> * (1 + me2_std / me2_surr)``, the same shifted up by the surrogate's
  relative uncertainty (the replica spread; equal to ``<prefix>`` for a single model).

The reference ``me2_ref`` (``ratio_to``) is the exact built-in |M|² (``"me"``,
:func:`fame_surrogate.me.matrix_element`), another bundle (a folder path), or a weight stored in the file
(``"weight:ID"``, e.g. an |M|² written there before).  Events the bundle or the reference does not cover keep
both weights equal to XWGTUP and are counted as skipped (per channel in ``skipped_channels``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lhe_tools import EventBatch
from lhe_tools.reweight import LHEChunk, NewWeight, reweight_lhe

from .bundle import Bundle
from .bundle_manifest import MANIFEST
from .reweight_config import ReweightConfig

log = logging.getLogger(__name__)

F8 = npt.NDArray[np.float64]
B1 = npt.NDArray[np.bool_]
#: reference |M|^2 at canonical-order momenta of one channel (N, n, 4) -> (N,), or None if not covered
Reference = Callable[[str, tuple[int, ...], int, F8, LHEChunk, npt.NDArray[np.int64]], F8 | None]


@dataclass(frozen=True)
class ReweightResult:
    """What :func:`reweight_file` did.

    Parameters
    ----------
    events : int
        Events in the file.
    reweighted : int
        Events given surrogate weights.
    skipped : int
        Events whose weights stay XWGTUP (channel not covered, no reference, or an invalid |M|^2).
    skipped_channels : dict of str to int
        Skipped events per channel.
    invalid : int
        Events with a non-finite or zero |M|^2 (surrogate or reference), counted among ``skipped``.
    out_of_domain : dict of str to int
        Events outside a surrogate's training domain per channel (reweighted only when allowed).
    ids : tuple of str
        Ids of the added weights.
    ratio_to : str
        Description of the reference |M|^2.
    output : Path
        The written file.
    seconds : float
        Wall-clock time of the pass over the file.
    """

    events: int
    reweighted: int
    skipped: int
    skipped_channels: dict[str, int]
    invalid: int
    out_of_domain: dict[str, int]
    ids: tuple[str, ...]
    ratio_to: str
    output: Path
    seconds: float

    @property
    def events_per_s(self) -> float | None:
        """Events per second of the pass (None for a pass that took no measurable time)."""
        return self.events / self.seconds if self.seconds > 0 else None

    def to_json(self) -> dict[str, Any]:
        """JSON object: every field (``ids`` a list, ``output`` a string) and ``events_per_s``."""
        return {
            "events": self.events,
            "reweighted": self.reweighted,
            "skipped": self.skipped,
            "skipped_channels": dict(self.skipped_channels),
            "invalid": self.invalid,
            "out_of_domain": dict(self.out_of_domain),
            "ids": list(self.ids),
            "ratio_to": self.ratio_to,
            "output": str(self.output),
            "seconds": self.seconds,
            "events_per_s": self.events_per_s,
        }


def make_reference(ratio_to: str) -> tuple[Reference, str]:
    """The reference |M|² callable for ``ratio_to`` and a description of it."""
    if ratio_to == "me":
        from fame_surrogate.me import matrix_element, supports

        def exact(name: str, pdg: tuple[int, ...], n_in: int, mom: F8, chunk: LHEChunk, idx: Any) -> Any:
            if not supports(list(pdg)):
                return None
            return np.asarray(matrix_element(mom, list(pdg)), dtype=np.float64)

        return exact, "exact built-in |M|^2 (fame_surrogate.me.matrix_element)"
    if ratio_to.startswith("weight:"):
        wid = ratio_to.split(":", 1)[1]
        if not wid:
            raise ValueError("--ratio-to weight:ID needs an id")

        def stored(name: str, pdg: tuple[int, ...], n_in: int, mom: F8, chunk: LHEChunk, idx: Any) -> F8:
            return np.asarray(chunk.stored_weight(wid)[idx], dtype=np.float64)

        return stored, f"stored weight {wid!r}"
    if (Path(ratio_to) / MANIFEST).is_file():
        other = Bundle.load(ratio_to)

        def bundle_ref(name: str, pdg: tuple[int, ...], n_in: int, mom: F8, chunk: LHEChunk, idx: Any) -> Any:
            if not other.covers(name):
                return None
            batch = EventBatch(momenta=mom, pdg=np.asarray(pdg), weight=np.ones(len(mom)), process=name,
                               n_in=n_in)
            return other.predict(batch)[0]

        return bundle_ref, f"surrogate |M|^2 of bundle {ratio_to}"
    raise ValueError(
        f"--ratio-to {ratio_to!r}: expected 'me', a bundle folder (with {MANIFEST}) or 'weight:ID'"
    )


class _Weights:
    """The chunk callback: groups events by channel, evaluates surrogate and reference per channel."""

    def __init__(self, bundle: Bundle, reference: Reference, where: str = "", allow: bool = False) -> None:
        self.bundle = bundle
        self.reference = reference
        self.where = where
        self.allow = allow
        self.outside: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.invalid: Counter[str] = Counter()
        self._names: dict[tuple[tuple[int, ...], int], Any] = {}  # channel-name memo across chunks

    def __call__(self, chunk: LHEChunk) -> tuple[F8, B1]:
        w = chunk.xwgtup
        values = np.stack([w, w], axis=1)
        covered = np.zeros(len(chunk), dtype=bool)
        for batch, idx in chunk.channel_batches(self._names):
            name = batch.process
            if not self.bundle.covers(name):
                self.skipped[name] += idx.size
                continue
            counts = self.bundle.check_domain(batch, self.where, allow=self.allow)
            if counts:
                self.outside[name] += counts["total"]
            me2, std = self.bundle.predict(batch)
            pdg = tuple(int(x) for x in batch.pdg)
            ref = self.reference(name, pdg, batch.n_in, batch.momenta, chunk, idx)
            if ref is None:
                self.skipped[name] += idx.size
                continue
            ok = np.isfinite(me2) & np.isfinite(std) & np.isfinite(ref) & (ref != 0.0) & (me2 != 0.0)
            if not ok.all():
                self.invalid[name] += int((~ok).sum())
                self.skipped[name] += int((~ok).sum())
            good = idx[ok]
            new = w[good] * me2[ok] / ref[ok]
            values[good, 0] = new
            values[good, 1] = new * (1.0 + std[ok] / me2[ok])
            covered[good] = True
        return values, covered


def reweight_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    bundle: Bundle | str | os.PathLike[str],
    config: ReweightConfig | None = None,
    *,
    progress: bool = False,
) -> ReweightResult:
    """Add the bundle's surrogate weights to the LHE file ``src``, writing ``dst`` (see the module docstring).

    Returns
    -------
    ReweightResult
        Event counts (reweighted, skipped per channel, invalid, out of domain), the weight ids, the reference
        and the time.
    """
    cfg = config or ReweightConfig()
    b = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
    if not b.entries:
        failed = [f.get("name", "?") for f in b.manifest.get("failed", []) if isinstance(f, dict)]
        raise ValueError(
            f"bundle {b.root} has no surrogate (every group failed in training: {failed}); nothing to "
            "reweight with"
        )
    if cfg.ratio_to.startswith("weight:"):
        from lhe_tools import read_lhe_header

        wid = cfg.ratio_to.split(":", 1)[1]
        declared = read_lhe_header(src).weight_ids
        if wid and wid not in declared:
            raise ValueError(
                f"{src}: --ratio-to weight:{wid}: the file declares no weight {wid!r} in <initrwgt> "
                f"(it declares {declared})"
            )
    for_unweighting = [e.group.name for e in b.entries if e.train.get("objective") == "unweighting"]
    if for_unweighting:  # fame train's default for Sherpa's pp dumps: the gain loss, coarser per event
        names = ", ".join(for_unweighting[:3]) + (", ..." if len(for_unweighting) > 3 else "")
        log.warning(
            "bundle %s: %d group(s) were trained for two-stage unweighting (%s); their |M|^2 per event is "
            "about half as accurate as with `fame train --objective pointwise`, the setting for reweighting",
            b.root, len(for_unweighting), names,
        )
    reference, ref_text = make_reference(cfg.ratio_to)
    weights = [
        NewWeight(cfg.prefix, f"XWGTUP * surrogate |M|^2 / {ref_text}; bundle {b.root}"),
        NewWeight(f"{cfg.prefix}_std_up", f"{cfg.prefix} * (1 + surrogate me2_std / me2)"),
    ]
    callback = _Weights(b, reference, str(src), cfg.allow_out_of_domain)
    summary = reweight_lhe(
        src,
        dst,
        weights,
        callback,
        chunk_size=cfg.chunk_size,
        compresslevel=cfg.compresslevel,
        progress=progress,
    )
    if summary.skipped:
        log.info("%d of %d events not reweighted: %s", summary.skipped, summary.events,
                 dict(callback.skipped.most_common(10)))
    return ReweightResult(
        events=summary.events,
        reweighted=summary.reweighted,
        skipped=summary.skipped,
        skipped_channels=dict(callback.skipped),
        invalid=sum(callback.invalid.values()),
        out_of_domain=dict(callback.outside),
        ids=tuple(summary.ids),
        ratio_to=ref_text,
        output=summary.output,
        seconds=summary.seconds,
    )
