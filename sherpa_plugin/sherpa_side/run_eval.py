"""Run mode ``eval``: Sherpa's |M|^2 by ``MEProcess`` at the momenta of a fame dump, chunk by chunk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import flavours
from .job import DumperResult
from .session import DumperError, Progress, RunContext, base_meta, ms_stats, summary_from_file


def run_eval(ctx: RunContext) -> DumperResult:
    """Mode ``eval``: |M|^2 by ``MEProcess`` at the momenta of the input dump (pdg in Sherpa's order)."""
    job, me, store = ctx.job, ctx.me, ctx.store
    src = Path(str(job.input))
    with np.load(src, allow_pickle=False) as npz:
        mom = np.asarray(npz["momenta"], dtype=np.float64)
        pdg = [int(p) for p in npz["pdg"]]
        extra = {k: npz[k] for k in npz.files if k not in ("momenta", "pdg", "me2", "meta")}
        in_meta = json.loads(str(npz["meta"][()])) if "meta" in npz.files else {}
    n_in = int(in_meta.get("n_in", 2))
    name = flavours.channel_name(pdg, n_in)
    names = [b[0] for b in ctx.built]
    if name not in names:
        raise DumperError(
            f"{src}: its pdg {pdg} in the stored order gives the channel {name}, which Sherpa did not build "
            f"(built: {names}); the particle order must be Sherpa's"
        )
    total, chunk = len(mom), job.chunk
    progress = Progress()
    n_chunks = -(-total // chunk)
    for k in range(len(store.done_parts(name)), n_chunks):
        sl = slice(k * chunk, min(total, (k + 1) * chunk))
        me2, ms = me.evaluate(name, pdg, n_in, mom[sl])
        cols: dict[str, np.ndarray] = {"momenta": mom[sl], "me2": me2}
        cols.update(
            {key: np.asarray(v[sl], np.float64) for key, v in extra.items() if np.shape(v) == (total,)}
        )
        store.write_part(
            name,
            k,
            cols,
            {"n": len(me2), "me_ms": float(np.median(ms)), "me_cpu_ms": float(np.mean(me.last_cpu_ms))},
        )
        progress(f"{name}: {sl.stop}/{total} points, {np.median(ms):.4f} ms/point", force=k == n_chunks - 1)
    _, timings = store.load(name)
    meta = base_meta(job, name, pdg, n_in)
    meta.update(
        me_ms_per_point=ms_stats(timings),
        me_cpu_ms_per_point=ms_stats(timings, "me_cpu_ms"),
        source_input=str(src),
        input_meta={k: in_meta[k] for k in ("process", "generator", "sqrt_s", "cuts") if k in in_meta},
    )
    path = store.finish(name, pdg, meta)
    store.cleanup()
    return DumperResult(mode=job.mode, channels=[summary_from_file(path)])
