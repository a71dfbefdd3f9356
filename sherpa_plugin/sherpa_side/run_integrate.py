"""Run modes without dumps: ``integrate`` (Sherpa's integration, grids in ``Results.zip``) and ``timing``."""

from __future__ import annotations

import numpy as np

from .job import DumperResult
from .session import DumperError, RunContext, say


def run_integrate(ctx: RunContext) -> DumperResult:
    """After ``InitializeTheRun`` (which integrated): check that the grids were written.

    The integrated cross sections are in Sherpa's log (the binding's ``TotalXS`` crashes before the event
    handler exists), which the supervising side reads.
    """
    results = ctx.job.paths[0] / "Results.zip"
    if not results.is_file():
        raise DumperError(
            f"Sherpa initialised but wrote no integration results {results}; expected its RESULT_DIRECTORY "
            "default (Results.zip in the run folder)"
        )
    say(f"integrated; grids in {results}")
    return DumperResult(mode=ctx.job.mode)


def run_timing(ctx: RunContext) -> DumperResult:
    """Mode ``timing``: no dumps; the ``MatrixElement()`` timings that every mode can add come afterwards."""
    return DumperResult(mode=ctx.job.mode)


def add_timings(ctx: RunContext, res: DumperResult) -> None:
    """Median wall / CPU ms of ``MatrixElement()`` at the job's ``timing_points`` of Sherpa's RAMBO test
    points (at ``timing_sqrt_s``, GeV) for every channel Sherpa built, into ``res.timing`` / ``.timing_cpu``.
    """
    job = ctx.job
    if not job.timing_points:
        return
    res.timing, res.timing_cpu = {}, {}
    e_test = job.timing_sqrt_s if job.timing_sqrt_s is not None else 1000.0
    for name, pdg, n_in in ctx.built:
        res.timing[name] = ctx.me.test_timing(name, pdg, n_in, e_test, job.timing_points)
        res.timing_cpu[name] = float(np.median(ctx.me.last_cpu_ms))
