"""Run mode ``rambo`` (lepton beams): flat RAMBO points at fixed √s, |M|^2 by ``MEProcess`` per channel."""

from __future__ import annotations

import zlib

import numpy as np

from . import rambo
from .job import DumperResult
from .session import Progress, RunContext, base_meta, ms_stats, say, summary_from_file


def _beam_momenta(pdg: list[int], n_in: int, beams: list[int], sqrt_s: float) -> np.ndarray:
    """Incoming momenta (n_in, 4): the particle matching beams[0] along +z, the other along -z."""
    e = sqrt_s / 2.0
    plus = next((i for i in range(n_in) if pdg[i] == beams[0]), 0)
    out = np.zeros((n_in, 4))
    for i in range(n_in):
        sign = 1.0 if i == plus else -1.0
        out[i] = (e, 0.0, 0.0, sign * e)
    return out


def run_rambo(ctx: RunContext) -> DumperResult:
    """Mode ``rambo``: flat RAMBO points per channel at fixed √s with the global s_ij cut, chunk by chunk."""
    job, me, store = ctx.job, ctx.me, ctx.store
    sqrt_s, y_cut = job.sqrt_s, job.y_cut
    total, chunk, seed = job.points, job.chunk, job.seed
    progress = Progress()
    results = []
    for name, pdg, n_in in ctx.selected():
        final_path = store.final_path(name)
        if final_path.is_file():
            say(f"{name}: {final_path} already complete, skipped")
            results.append(summary_from_file(final_path))
            continue
        n_out = len(pdg) - n_in
        beams = _beam_momenta(pdg, n_in, list(job.beams) or pdg[:n_in], sqrt_s)
        done = len(store.done_parts(name))
        n_chunks = -(-total // chunk)
        for k in range(done, n_chunks):
            size = min(chunk, total - k * chunk)
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), k])
            final, drawn = rambo.generate(n_out, sqrt_s, y_cut, size, rng)
            mom = np.concatenate([np.broadcast_to(beams, (size, n_in, 4)), final], axis=1)
            me2, ms = me.evaluate(name, pdg, n_in, mom)
            cols = {"momenta": mom, "me2": me2, "ps_weight": np.full(size, rambo.rambo_weight(n_out, sqrt_s))}
            store.write_part(
                name,
                k,
                cols,
                {
                    "n": size,
                    "drawn": drawn,
                    "me_ms": float(np.median(ms)),
                    "me_cpu_ms": float(np.mean(me.last_cpu_ms)),
                },
            )
            progress(
                f"{name}: {min((k + 1) * chunk, total)}/{total} points, {np.median(ms):.4f} ms/point",
                force=k == n_chunks - 1,
            )
        _, timings = store.load(name)
        drawn = sum(t["drawn"] for t in timings)
        meta = base_meta(job, name, pdg, n_in)
        meta.update(
            me_ms_per_point=ms_stats(timings),
            me_cpu_ms_per_point=ms_stats(timings, "me_cpu_ms"),
            cut_efficiency=total / drawn,
            n_generated_rambo=drawn,
            ps_weight=rambo.rambo_weight(n_out, sqrt_s),
            ps_generator="massless RAMBO (numpy, flat), sqrt_s fixed; points failing the cut are discarded "
            "before the matrix element is evaluated",
            rambo_weight_convention="w = (2 pi)^(4-3n) (pi/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!); "
            "sigma = (1/(2 s)) * sum(w * me2) / N_generated",
            y_cut=y_cut,
        )
        path = store.finish(name, pdg, meta)
        results.append(summary_from_file(path))
    store.cleanup()
    return DumperResult(mode=job.mode, channels=results)
