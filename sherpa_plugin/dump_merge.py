"""The merge of ``fame sherpa dump --jobs``: the jobs' dumps, concatenated per channel, and their summary.

``OUT/<channel>.npz`` holds the jobs' events of that channel in job order, its ``meta`` the jobs' seeds and
event counts and their timings averaged; the summary adds σ = Σ weight / Σ trials over all jobs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lhe_tools import atomic_path

from .dump import _RESULTS, _WORK
from .dump_result import DumpResult, GenerationResult, Integration, JobRecord
from .dump_runner import SherpaDumpError
from .sherpa_side.job import ChannelSummary

__all__ = ["drop_job_copies", "merge_jobs"]


def merge_jobs(
    out: Path,
    results: Sequence[GenerationResult],
    folders: Sequence[Path],
    integration: Integration,
    seeds: Sequence[int],
    base_seed: int,
) -> DumpResult:
    """Concatenate the jobs' dumps per channel into ``OUT/<channel>.npz``; the merged summary.

    Parameters
    ----------
    out : Path
        The dump folder.
    results : sequence of GenerationResult
        The finished jobs, in job order.
    folders : sequence of Path
        Each job's folder (holding its dumps), indexed by job.
    integration : Integration
        The one integration the jobs started from (its channel order, σ and timings).
    seeds, base_seed : int
        The jobs' seeds and the seed they derive from (recorded in each dump's ``meta``).

    Returns
    -------
    DumpResult
        The merged summary (the client adds the run's times, settings and folders).
    """
    order = [c.process for c in integration.result.sherpa_channels]
    found: dict[str, list[tuple[int, Path]]] = {}
    for r in results:
        for c in r.summary.channels:
            found.setdefault(c.process, []).append((r.index, folders[r.index] / c.file))
    names = [n for n in order if n in found] + sorted(set(found) - set(order))
    job_events = {r.index: r.summary.points for r in results}
    total = sum(job_events.values())
    channels: list[ChannelSummary] = []
    sum_w = sum_w2 = sum_trials = 0.0
    for name in names:
        arrays: dict[str, list[np.ndarray]] = {}
        metas: list[tuple[int, int, dict[str, Any]]] = []
        pdg: np.ndarray | None = None
        for j, path in found[name]:
            try:
                with np.load(path, allow_pickle=False) as npz:
                    meta = json.loads(str(npz["meta"][()]))
                    if pdg is None:
                        pdg = np.asarray(npz["pdg"])
                    elif not np.array_equal(pdg, npz["pdg"]):
                        raise ValueError(f"{path}: pdg {list(npz['pdg'])}, expected {list(pdg)} as in job 0")
                    n = int(npz["momenta"].shape[0])
                    for key in npz.files:
                        if key not in ("pdg", "meta"):
                            arrays.setdefault(key, []).append(np.asarray(npz[key]))
            except (OSError, KeyError) as err:
                raise SherpaDumpError(f"job {j}'s dump {path} of channel {name} cannot be read: {err}") \
                    from None
            metas.append((j, n, meta))
        assert pdg is not None
        cols = {k: np.concatenate(v) for k, v in arrays.items()}
        n_all = len(cols["momenta"])
        for key, col in cols.items():
            if key != "momenta" and col.shape != (n_all,):
                raise SherpaDumpError(f"channel {name}: merged column {key!r} has shape {col.shape}, "
                                      f"expected ({n_all},)")
        meta = dict(metas[0][2])
        counts = np.array([n for _, n, _ in metas], dtype=np.float64)
        ev_w = np.array([job_events[j] for j, _, _ in metas], dtype=np.float64)

        def avg(key: str, weights: np.ndarray, ms: Sequence[tuple[int, int, dict[str, Any]]] = metas) -> Any:
            vals = [m.get(key) for _, _, m in ms]
            if any(v is None for v in vals):
                return vals[0]
            return float(np.average(np.asarray(vals, dtype=np.float64), weights=weights))

        meta.update(
            seed=int(base_seed),
            n_points=n_all,
            me_ms_per_point=avg("me_ms_per_point", counts),
            me_cpu_ms_per_point=avg("me_cpu_ms_per_point", counts),
            ps_ms_per_point=avg("ps_ms_per_point", ev_w),
            ps_cpu_ms_per_point=avg("ps_cpu_ms_per_point", ev_w),
            gen_ms_per_event=avg("gen_ms_per_event", ev_w),
            gen_cpu_ms_per_event=avg("gen_cpu_ms_per_event", ev_w),
            n_events_all_channels=total,
            jobs=[{"job": j, "seed": int(seeds[j]), "events": n} for j, n, _ in metas],
            generation=f"{len(seeds)} Dask generation jobs (fame sherpa dump --jobs) from one Sherpa "
            "integration; the job seeds derive from the seed (numpy SeedSequence([seed, job]))",
        )
        checks = [m["me2_vs_sherpa_meweight_max_rel_dev"] for _, _, m in metas
                  if "me2_vs_sherpa_meweight_max_rel_dev" in m]
        if checks:  # colour-sampled jobs make no such check (their |M|^2 is Sherpa's sampled MEWeight)
            meta["me2_vs_sherpa_meweight_max_rel_dev"] = max(float(c) for c in checks)
        target = out / f"{name}.npz"
        out_arrays: dict[str, Any] = {"momenta": cols.pop("momenta").astype(np.float64),
                                      "pdg": pdg.astype(np.int32)}
        out_arrays.update({k: v.astype(np.float64) for k, v in cols.items()})
        out_arrays["meta"] = np.array(json.dumps(meta))
        with atomic_path(target, suffix=".npz") as tmp, tmp.open("wb") as fh:
            np.savez(fh, **out_arrays)
        w = cols.get("weight")
        trials = cols.get("trials")
        if w is not None and trials is not None:
            sum_w += float(w.sum())
            sum_w2 += float((w**2).sum())
            sum_trials += float(trials.sum())
        channels.append(ChannelSummary(
            process=name,
            pdg=tuple(int(p) for p in pdg),
            points=n_all,
            file=target.name,
            me_ms_per_point=meta["me_ms_per_point"],
            ps_ms_per_point=meta["ps_ms_per_point"],
            me_cpu_ms_per_point=meta["me_cpu_ms_per_point"],
        ))
    points = sum(c.points for c in channels)
    if points != total:
        raise SherpaDumpError(f"the merged dumps hold {points} events, the jobs reported {total}")
    sigma = sum_w / sum_trials if sum_trials else float("nan")
    var = max(sum_w2 / sum_trials - sigma**2, 0.0) / sum_trials if sum_trials else float("nan")
    summaries = [r.summary for r in results]

    def ev_avg(key: str) -> float | None:
        vals = [getattr(s, key) for s in summaries]
        if any(v is None for v in vals):
            return None
        return float(np.average(np.asarray(vals, dtype=np.float64), weights=[s.points for s in summaries]))

    ms = float(np.average([float(c.me_ms_per_point or 0.0) for c in channels],
                          weights=[c.points for c in channels]))
    found_integration = integration.result
    return DumpResult(
        channels=channels,
        points=points,
        events=points,
        ms_per_point=ms,
        mode="events",
        ps_ms_per_point=ev_avg("ps_ms_per_point"),
        ps_cpu_ms_per_point=ev_avg("ps_cpu_ms_per_point"),
        gen_ms_per_event=ev_avg("gen_ms_per_event"),
        gen_cpu_ms_per_event=ev_avg("gen_cpu_ms_per_event"),
        sum_weights=sum_w,
        sum_trials=sum_trials,
        sigma_pb=sigma,
        sigma_err_pb=float(np.sqrt(var)),
        sherpa_integrated_pb=integration.integrated_pb,
        sherpa_channels=found_integration.sherpa_channels,
        comix_map=found_integration.comix_map,
        init_seconds=found_integration.init_seconds,
        jobs=[
            JobRecord(
                job=r.index,
                seed=int(seeds[r.index]),
                events=r.summary.points,
                seconds=r.summary.seconds,
                sherpa_cpu_seconds=r.summary.cpu_seconds,
                worker=r.worker,
                host=r.host,
                batch_job=r.batch_job,
                attempts=r.attempts,
            )
            for r in results
        ],
        sherpa_cpu_seconds=sum(float(s.cpu_seconds or 0.0) for s in summaries),
        # the MatrixElement() timings of the integration run, when it took them
        timing=found_integration.timing or None,
        timing_cpu=found_integration.timing_cpu or None if found_integration.timing else None,
    )


def drop_job_copies(folders: Sequence[Path]) -> None:
    """Remove the jobs' dumps, chunks and Sherpa grids once the merged dumps are in place.

    The jobs' logs, job files and summaries stay (a rerun finds the jobs complete).
    """
    for folder in folders:
        for f in folder.glob("*.npz"):
            f.unlink()
        for name in ("Process", _RESULTS, _RESULTS + "~", ".parts"):
            target = folder / _WORK / name if name != ".parts" else folder / name
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
