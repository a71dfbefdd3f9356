"""Sherpa ROOT ntuples (tree ``t3``) ⇄ per-channel :class:`EventBatch` (event-files.md §4.3).

Reading keys on branch *names*, never leaf titles, so all variants Sherpa and its users' tools write are
accepted: Sherpa 3 ``Root``/``ERoot`` (float momenta, exact mode: ``ncount``, ``kfactor``, ``ps_wgt``,
``id1p``, ``id2p``), ``EDRoot`` (double momenta), Sherpa 2.2 (leaf ``me_wtg`` in branch ``me_wgt``, no
exact-mode branches) and the BlackHat-style tree ``BHSntuples`` (``alphasPower`` as short).

The ntuple stores only the outgoing partons; the incoming ones (``id1`` from +z, ``id2`` from −z) are rebuilt
massless along the beam axis from the outgoing total: p± = (E_tot ± pz_tot)/2 · (1, 0, 0, ±1). Events are then
put into Sherpa's canonical order (:func:`lhe_tools.process.canonical_channel`) and split per channel.

Column mapping (SPEC §3.1): ``weight`` → ``weight``; ``x1``/``x2`` → ``x1``/``x2`` (momentum fraction of the
+z / −z parton, as in Sherpa, whatever their canonical position); ``fac_scale``² → ``muf2``; ``ren_scale``² →
``mur2``; ``alphas`` → ``alpha_s``; ``ncount`` → ``trials``; ``ps_wgt`` → ``ps_weight``. Everything else stays
available, unchanged, in ``extra_weights``: ``id``, ``weight2``, ``me_wgt``, ``me_wgt2``, ``kfactor``,
``x1p``, ``x2p``, ``id1p``, ``id2p``, ``alphasPower``, ``part`` (code: see :data:`PART_CODES`), ``nuwgt`` and
``usr_wgts[i]`` (zero beyond ``nuwgt``). ``me2`` is *not* filled: Sherpa's ``me_wgt`` is the weight without
PDFs (weight = me_wgt·f_a·f_b), so it still carries flux and phase-space factors.

Writing produces Sherpa 3's exact-mode layout (branch order and leaf types of ``Output_RootNtuple.C``; float
momenta, or double as ``EDRoot`` does) as a ROOT TTree via uproot, so readers written for Sherpa's files
(``SetBranchAddress`` on ``t3``) read ours. Values that a batch does not carry are written as Sherpa would for
a Born-only run without them: ``part`` "B", ``kfactor`` 1, ``ncount`` 1, ``weight2`` = ``weight``, others 0.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_path
from .batch import EventBatch
from .process import canonical_channel

__all__ = ["PART_CODES", "SHERPA3_BRANCHES", "NtupleError", "read_ntuple", "write_ntuple"]

F8 = npt.NDArray[np.float64]

#: Sherpa 3 exact-mode branches in file order, with their numpy/awkward types (float momenta variant)
SHERPA3_BRANCHES: tuple[tuple[str, str], ...] = (
    ("id", "int32"),
    ("ncount", "int32"),
    ("nparticle", "int32"),
    ("px", "var * float32"),
    ("py", "var * float32"),
    ("pz", "var * float32"),
    ("E", "var * float32"),
    ("alphas", "float64"),
    ("kfactor", "float64"),
    ("ps_wgt", "float64"),
    ("kf", "var * int32"),
    ("weight", "float64"),
    ("weight2", "float64"),
    ("me_wgt", "float64"),
    ("me_wgt2", "float64"),
    ("x1", "float64"),
    ("x2", "float64"),
    ("x1p", "float64"),
    ("x2p", "float64"),
    ("id1", "int32"),
    ("id2", "int32"),
    ("id1p", "int32"),
    ("id2p", "int32"),
    ("fac_scale", "float64"),
    ("ren_scale", "float64"),
    ("nuwgt", "int32"),
    ("usr_wgts", "var * float64"),
    ("alphasPower", "int8"),
    ("part", "string"),
)

#: numeric codes of the sub-event type ``part`` in ``extra_weights["part"]``
PART_CODES: dict[str, int] = {"": 0, "B": 1, "V": 2, "I": 3, "R": 4, "S": 5}
_PART_NAMES = {code: name for name, code in PART_CODES.items()}

_REQUIRED = ("nparticle", "px", "py", "pz", "E", "kf", "weight", "id1", "id2")
_EXTRA_SCALARS = (
    "id",
    "weight2",
    "me_wgt",
    "me_wgt2",
    "kfactor",
    "x1p",
    "x2p",
    "id1p",
    "id2p",
    "alphasPower",
)
_OPTIONAL = ("x1", "x2", "fac_scale", "ren_scale", "alphas", "ncount", "ps_wgt", "nuwgt", "usr_wgts", "part")
_MAX_USR_WGTS = 18
_TREE_NAMES = ("t3", "BHSntuples")


class NtupleError(ValueError):
    """A ROOT file that is not a readable Sherpa ntuple; the message names the file, tree, branch or entry."""


def _open_tree(path: Path, tree: str | None) -> Any:
    import uproot

    try:
        handle = uproot.open(path)
    except Exception as err:  # uproot raises many types for non-ROOT or truncated input
        raise NtupleError(f"{path}: cannot open as a ROOT file ({type(err).__name__}: {err})") from err
    names = [tree] if tree is not None else list(_TREE_NAMES)
    for name in names:
        if name in handle:
            obj = handle[name]
            if not hasattr(obj, "iterate"):
                raise NtupleError(f"{path}: {name!r} is a {type(obj).__name__}, not a TTree")
            return obj
    keys = sorted({k.split(";")[0] for k in handle})
    raise NtupleError(f"{path}: no Sherpa ntuple tree {' or '.join(map(repr, names))}; the file holds {keys}")


def read_ntuple(
    path: str | os.PathLike[str], *, chunk_size: int | None = None, tree: str | None = None
) -> Iterator[EventBatch]:
    """Stream a Sherpa ROOT ntuple as per-channel :class:`EventBatch` es in canonical particle order.

    Parameters
    ----------
    path : path
        ROOT file with a Sherpa ntuple tree.
    chunk_size : int, optional
        Entries read at a time (each chunk yields its per-channel batches); ``None`` reads all at once.
    tree : str, optional
        Tree name; default ``t3``, else ``BHSntuples``.

    Raises
    ------
    NtupleError
        Missing tree or required branch, inconsistent counters, non-finite weights or momenta, no entries.
    """
    p = Path(path)
    ttree = _open_tree(p, tree)
    present = set(ttree.keys())
    missing = [b for b in _REQUIRED if b not in present]
    if missing:
        raise NtupleError(f"{p}: tree {ttree.name!r} lacks the required branches {missing}")
    if ttree.num_entries == 0:
        raise NtupleError(f"{p}: tree {ttree.name!r} has no entries")
    branches = [b for b in (*_REQUIRED, *_OPTIONAL, *_EXTRA_SCALARS) if b in present]
    step = chunk_size if chunk_size is not None else max(int(ttree.num_entries), 1)
    if step < 1:
        raise ValueError(f"chunk_size must be a positive number of entries, got {chunk_size}")
    meta_base = {"source": str(p), "format": "sherpa-root-ntuple", "tree": ttree.name}
    start = 0
    for arrays in ttree.iterate(branches, step_size=step, library="ak"):
        yield from _split_chunk(arrays, p, start, meta_base)
        start += len(arrays)


def _split_chunk(arrays: Any, path: Path, start: int, meta: Mapping[str, Any]) -> Iterator[EventBatch]:
    import awkward as ak

    fields = set(arrays.fields)
    npart = np.asarray(arrays["nparticle"], dtype=np.int64)
    for name in ("px", "py", "pz", "E", "kf"):
        counts = np.asarray(ak.num(arrays[name]), dtype=np.int64)
        bad = np.flatnonzero(counts != npart)
        if bad.size:
            i = int(bad[0])
            raise NtupleError(
                f"{path}: entry {start + i}: branch {name!r} has {counts[i]} values, nparticle = {npart[i]}"
            )
    weight = np.asarray(arrays["weight"], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(weight))
    if bad.size:
        i = int(bad[0])
        raise NtupleError(f"{path}: entry {start + i}: weight is {weight[i]} (expected a finite number)")
    columns = _columns(arrays, fields, path, start)
    id1 = np.asarray(arrays["id1"], dtype=np.int64)
    id2 = np.asarray(arrays["id2"], dtype=np.int64)
    per_channel: dict[str, list[tuple[npt.NDArray[np.int64], F8, npt.NDArray[np.int32]]]] = {}
    offsets = np.concatenate([[0], np.cumsum(npart)])
    flat = {c: np.asarray(ak.flatten(arrays[c]), dtype=np.float64) for c in ("E", "px", "py", "pz")}
    flat_kf = np.asarray(ak.flatten(arrays["kf"]), dtype=np.int64)
    for n in np.unique(npart):
        rows = np.flatnonzero(npart == n)
        n = int(n)
        gather = offsets[rows][:, None] + np.arange(n)
        out = np.stack([flat[c][gather] for c in ("E", "px", "py", "pz")], -1)
        if not np.all(np.isfinite(out)):
            i = int(rows[np.flatnonzero(~np.isfinite(out).all(axis=(1, 2)))[0]])
            raise NtupleError(f"{path}: entry {start + i}: non-finite momentum component")
        kf = flat_kf[gather]
        keys = np.column_stack([id1[rows], id2[rows], kf])
        unique, inverse = _unique_rows(keys)
        e_tot, pz_tot = out[..., 0].sum(axis=1), out[..., 3].sum(axis=1)
        plus, minus = 0.5 * (e_tot + pz_tot), 0.5 * (e_tot - pz_tot)
        zero = np.zeros_like(plus)
        p_plus = np.stack([plus, zero, zero, plus], -1)
        p_minus = np.stack([minus, zero, zero, -minus], -1)
        incoming = np.stack([p_plus, p_minus], 1)
        momenta = np.concatenate([incoming, out], axis=1)
        for k, key in enumerate(unique):
            idx = np.flatnonzero(inverse == k)
            pdg = [int(c) for c in key]
            try:
                name, order = canonical_channel(pdg, 2)
            except ValueError as err:
                raise NtupleError(f"{path}: entry {start + int(rows[idx[0]])}: {err}") from err
            parts = per_channel.setdefault(name, [])
            parts.append((rows[idx], momenta[idx][:, order], np.asarray(pdg, dtype=np.int32)[order]))
    for name, parts in per_channel.items():
        entries = np.concatenate([p[0] for p in parts])
        keep = np.argsort(entries, kind="stable")  # file order within the channel
        ev = entries[keep]
        yield EventBatch(
            momenta=np.concatenate([p[1] for p in parts])[keep],
            pdg=parts[0][2],
            weight=weight[ev],
            process=name,
            n_in=2,
            **{c: v[ev] for c, v in columns.items() if c != "extra_weights"},
            extra_weights={c: v[ev] for c, v in columns["extra_weights"].items()},
            meta=dict(meta),
        )


def _unique_rows(keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct rows of a 2-d int array and, per row, the index of its distinct row.

    Equivalent to ``np.unique(keys, axis=0, return_inverse=True)``, which sorts a void view and is slow.
    """
    code = np.zeros(len(keys), dtype=np.int64)
    for column in keys.T:
        values, col_code = np.unique(column, return_inverse=True)
        _, code = np.unique(code * len(values) + col_code.reshape(-1), return_inverse=True)
        code = code.reshape(-1)
    n_distinct = int(code.max(initial=-1)) + 1
    first = np.full(n_distinct, len(keys), dtype=np.int64)
    np.minimum.at(first, code, np.arange(len(keys)))
    return keys[first], code


def _part_codes(part: Any, path: Path, start: int) -> F8:
    """Numeric codes (:data:`PART_CODES`) of the ``part`` strings, from their first byte, vectorised."""
    import awkward as ak

    raw = ak.without_parameters(part)
    first = np.asarray(ak.fill_none(ak.firsts(raw), 0), dtype=np.int64)
    table = np.full(256, -1, dtype=np.int64)
    table[0] = PART_CODES[""]
    for name, code in PART_CODES.items():
        if name:
            table[ord(name)] = code
    codes = table[first]
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        i = int(bad[0])
        text = bytes(np.asarray(raw[i], dtype=np.uint8)).decode(errors="replace")
        raise NtupleError(f"{path}: entry {start + i}: part {text!r}, expected one of B V I R S")
    return codes.astype(np.float64)


def _columns(arrays: Any, fields: set[str], path: Path, start: int) -> dict[str, Any]:
    import awkward as ak

    def col(name: str) -> F8:
        return np.asarray(arrays[name], dtype=np.float64)

    out: dict[str, Any] = {}
    simple = {"x1": "x1", "x2": "x2", "alphas": "alpha_s", "ncount": "trials", "ps_wgt": "ps_weight"}
    for branch, column in simple.items():
        if branch in fields:
            out[column] = col(branch)
    if "fac_scale" in fields:
        out["muf2"] = col("fac_scale") ** 2
    if "ren_scale" in fields:
        out["mur2"] = col("ren_scale") ** 2
    extra = {name: col(name) for name in _EXTRA_SCALARS if name in fields}
    if "part" in fields:
        extra["part"] = _part_codes(arrays["part"], path, start)
    if "usr_wgts" in fields:
        counts = np.asarray(ak.num(arrays["usr_wgts"]), dtype=np.int64)
        if "nuwgt" in fields:
            nuwgt = np.asarray(arrays["nuwgt"], dtype=np.int64)
            bad = np.flatnonzero(counts != nuwgt)
            if bad.size:
                i = int(bad[0])
                raise NtupleError(f"{path}: entry {start + i}: {counts[i]} usr_wgts but nuwgt = {nuwgt[i]}")
        width = int(counts.max(initial=0))
        if width > _MAX_USR_WGTS:
            raise NtupleError(f"{path}: {width} usr_wgts in an entry; Sherpa writes at most {_MAX_USR_WGTS}")
        padded = ak.fill_none(ak.pad_none(arrays["usr_wgts"], width, clip=True), 0.0)
        dense = np.asarray(ak.to_numpy(padded), dtype=np.float64).reshape(len(counts), width)
        extra["nuwgt"] = counts.astype(np.float64)
        for i in range(width):
            extra[f"usr_wgts[{i}]"] = dense[:, i]
    out["extra_weights"] = extra
    return out


def _branch_values(batch: EventBatch, first_id: int) -> dict[str, npt.NDArray[Any]]:
    """Per-entry values of every Sherpa 3 branch for one batch (outgoing particles in the batch's order)."""
    if batch.n_in != 2:
        raise ValueError(f"{batch.process}: a Sherpa ntuple needs 2 incoming particles, found {batch.n_in}")
    n_ev = len(batch)
    extra = batch.extra_weights
    plus_first = batch.momenta[:, 0, 3] >= batch.momenta[:, 1, 3]
    id1 = np.where(plus_first, batch.pdg[0], batch.pdg[1]).astype(np.int32)
    id2 = np.where(plus_first, batch.pdg[1], batch.pdg[0]).astype(np.int32)

    def get(name: str, default: float, source: F8 | None = None) -> F8:
        if source is not None:
            return source
        if name in extra:
            return extra[name]
        return np.full(n_ev, default, dtype=np.float64)

    def sqrt_or_zero(v: F8 | None) -> F8:
        return np.zeros(n_ev) if v is None else np.sqrt(v)

    nuwgt = get("nuwgt", 0.0).astype(np.int64)
    usr = [extra.get(f"usr_wgts[{i}]", np.zeros(n_ev)) for i in range(int(nuwgt.max(initial=0)))]
    return {
        "id": (extra["id"] if "id" in extra else np.arange(first_id, first_id + n_ev)).astype(np.int32),
        "ncount": np.rint(get("trials", 1.0, batch.trials)).astype(np.int32),
        "out": batch.momenta[:, batch.n_in :, :],
        "kf": batch.pdg[batch.n_in :].astype(np.int32),
        "alphas": get("alphas", 0.0, batch.alpha_s),
        "kfactor": get("kfactor", 1.0),
        "ps_wgt": get("ps_wgt", 0.0, batch.ps_weight),
        "weight": batch.weight,
        "weight2": extra.get("weight2", batch.weight),
        "me_wgt": get("me_wgt", 0.0),
        "me_wgt2": get("me_wgt2", 0.0),
        "x1": get("x1", 0.0, batch.x1),
        "x2": get("x2", 0.0, batch.x2),
        "x1p": get("x1p", 0.0),
        "x2p": get("x2p", 0.0),
        "id1": id1,
        "id2": id2,
        "id1p": get("id1p", 0.0).astype(np.int32),
        "id2p": get("id2p", 0.0).astype(np.int32),
        "fac_scale": sqrt_or_zero(batch.muf2),
        "ren_scale": sqrt_or_zero(batch.mur2),
        "nuwgt": nuwgt.astype(np.int32),
        "usr": np.stack(usr, axis=1) if usr else np.zeros((n_ev, 0)),
        "alphasPower": get("alphasPower", 0.0).astype(np.int8),
        "part": get("part", PART_CODES["B"]).astype(np.int64),
    }


def write_ntuple(
    path: str | os.PathLike[str], batches: Iterable[EventBatch], *, double: bool = False, tree: str = "t3"
) -> Path:
    """Write batches as one Sherpa 3 exact-mode ntuple (a ROOT TTree), atomically.

    Parameters
    ----------
    path : path
        Output ``.root`` file.
    batches : iterable of EventBatch
        Events of any channels (2 incoming particles each); written in the given order.
    double : bool
        Double-precision momenta (Sherpa's ``EDRoot``) instead of float (``Root``/``ERoot``).
    tree : str
        Tree name (Sherpa's ``ROOTNTUPLE_TREENAME``, default ``t3``).

    Returns
    -------
    Path
        The written file.
    """
    import awkward as ak
    import uproot

    mom_type = "var * float64" if double else "var * float32"
    types = {name: (mom_type if name in ("px", "py", "pz", "E") else kind) for name, kind in SHERPA3_BRANCHES}
    parts: list[dict[str, npt.NDArray[Any]]] = []
    next_id = 0
    for batch in batches:
        values = _branch_values(batch, next_id)
        next_id += len(batch)
        parts.append(values)
    if not parts or sum(len(v["weight"]) for v in parts) == 0:
        raise ValueError(f"{path}: no events to write")
    fdt = np.float64 if double else np.float32
    data: dict[str, Any] = {}
    counts = np.concatenate([np.full(len(v["weight"]), v["out"].shape[1], dtype=np.int32) for v in parts])
    for comp, name in enumerate(("E", "px", "py", "pz")):
        flat = np.concatenate([v["out"][..., comp].reshape(-1) for v in parts]).astype(fdt)
        data[name] = ak.unflatten(flat, counts)
    kf_flat = np.concatenate([np.broadcast_to(v["kf"], v["out"].shape[:2]).reshape(-1) for v in parts])
    data["kf"] = ak.unflatten(kf_flat.astype(np.int32), counts)
    nuwgt = np.concatenate([v["nuwgt"] for v in parts])
    usr_flat = np.concatenate(
        [v["usr"][np.arange(v["usr"].shape[1]) < v["nuwgt"][:, None]] for v in parts]
    )
    data["usr_wgts"] = ak.unflatten(usr_flat.astype(np.float64), nuwgt.astype(np.int64))
    data["nparticle"] = counts
    codes = np.concatenate([v["part"] for v in parts])
    if np.any((codes < 0) | (codes >= len(_PART_NAMES))):
        raise ValueError(f"{path}: extra_weights['part'] holds codes outside {PART_CODES}")
    data["part"] = np.asarray([_PART_NAMES[c] for c in range(len(_PART_NAMES))])[codes]
    for name, kind in SHERPA3_BRANCHES:
        if name in data:
            continue
        data[name] = np.concatenate([v[name] for v in parts]).astype(kind)
    ordered = {name: data[name] for name, _ in SHERPA3_BRANCHES}
    target = Path(path)
    with atomic_path(target, suffix=".root") as tmp, uproot.recreate(tmp) as f:
        f.mktree(
            tree,
            types,
            title="Reconst ntuple",
            counter_name=lambda branch: "nuwgt" if branch == "usr_wgts" else "nparticle",
        )
        f[tree].extend(ordered)
    return target
