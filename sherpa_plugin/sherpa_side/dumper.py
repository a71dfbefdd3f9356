"""The Sherpa-side dumper: ``python -m sherpa_side.dumper JOB.json`` under Sherpa's own Python.

Imports only numpy, ``Sherpa`` (PyPI ``sherpa-mc``) and the standard library.  The job (JSON, written by
:mod:`sherpa_plugin.dump`, read as :class:`.job.DumpJob`) says:

``mode``
    ``"rambo"``: lepton beams; flat RAMBO points at fixed ``sqrt_s`` with the global cut s_ij > ``y_cut``·s,
    |M|^2 by ``MEProcess`` for every channel Sherpa built (or the ``channels`` listed).
    ``"eval"``: |M|^2 by ``MEProcess`` at the momenta of the fame dump ``input`` (pdg in Sherpa's order).
    ``"events"``: hadron (or any) beams; Sherpa's own weighted event generation (importance-sampled phase
    space, PDFs, flux: full weight w, x1, x2, scales, trials) and |M|^2 by ``MEProcess`` at each event, or
    (``me_check_every`` N > 1) Sherpa's own event ``MEWeight``, checked against ``MEProcess`` at every N-th
    event: that halves the cost where the ME dominates (Z+5 jets: ≈ 55 ms per colour-summed ME).
    With ``color_scheme`` ``"sample"`` (Sherpa's ``COLOR_SCHEME: 2``) Sherpa samples one colour configuration
    per event: ``me2`` is then always Sherpa's event ``MEWeight`` (|M|^2 of the sampled colours times the
    colour integrator's weight, an unbiased estimate of the colour sum), and the every-N-th MEProcess call
    only times one colour-sampled ``MatrixElement()`` (after ``GenerateColorPoint()``): under colour
    sampling MEProcess returns |M|^2 of the colours set on its amplitude, not the sum.
    ``"timing"``: no dumps; only the ``timing_points`` timings of every channel Sherpa built.
    ``"integrate"``: no dumps; Sherpa integrates the run card (its grids land in ``workdir/Results.zip``)
    and the summary lists the channels it built with their integrated cross sections; generation jobs
    (``fame sherpa dump --jobs``) then start from that integration.
``workdir``, ``out``, ``result``
    Sherpa's run folder (``Sherpa.yaml``, ``Process/``, ``Results.zip``), the dump folder (one
    ``<channel>.npz`` per channel), and the summary JSON written last.
``run_card``, ``overrides``
    The run card text and extra ``KEY: value`` settings passed on Sherpa's command line.
``points``, ``chunk``, ``seed``, ``sqrt_s``, ``y_cut``, ``beams``, ``cuts``, ``timing_points``,
``me_check_every``, ``color_scheme``
    Sizes, seeds and the physics settings recorded in every dump's ``meta``.

Each mode has its own module (:mod:`.run_rambo`, :mod:`.run_eval`, :mod:`.run_events`,
:mod:`.run_integrate`); :mod:`.session` starts Sherpa and evaluates |M|^2.

Progress goes to stderr as ``fame-dumper: …`` lines; Sherpa's own log goes to stdout.  Exit status 0 on
success, 3 on an error this script detected (its message is the last ``fame-dumper: error:`` line).  Sherpa's
C++ aborts end the interpreter with a signal; the supervising side reports Sherpa's last words then.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import flavours
from .job import DumperResult, DumpJob, SherpaChannel
from .run_eval import run_eval
from .run_events import run_events
from .run_integrate import add_timings, run_integrate, run_timing
from .run_rambo import run_rambo
from .session import DumperError, MEEvaluator, RunContext, say, sherpa_version, start_sherpa
from .store import ChunkStore, atomic_write_text

#: the run modes (the job's ``mode``) and their functions
RUNS: dict[str, Callable[[RunContext], DumperResult]] = {
    "rambo": run_rambo,
    "eval": run_eval,
    "events": run_events,
    "timing": run_timing,  # only the MatrixElement() timings, no dumps
    "integrate": run_integrate,  # InitializeTheRun integrated; the grids are in Results.zip
}


def sherpa_settings(job: DumpJob, store: ChunkStore) -> list[str]:
    """Sherpa command-line settings of the mode: no integration for fixed points; events: their number and a
    seed that a resumed run (``store`` holds finished chunks) moves on, for fresh random numbers."""
    if job.mode in ("rambo", "eval", "timing"):
        return ["INIT_ONLY: 2"]
    if job.mode == "events":
        n_done = len(store.done_chunks())
        return [f"EVENTS: {job.points}", f"RANDOM_SEED: {job.seed + 7919 * n_done + 1}"]
    return []


def main(argv: list[str]) -> int:
    """Run the job in ``argv[1]``; 0 on success, 2 on a usage error, 3 on an error this script found."""
    if len(argv) != 2:
        print("usage: python -m sherpa_side.dumper JOB.json", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    try:
        job = DumpJob.read(Path(argv[1]))
        job = job.for_run(*job.paths)
        workdir, out, result = job.paths
        store = ChunkStore(out)
        gen = start_sherpa(job, sherpa_settings(job, store))
        t_init = time.perf_counter() - t_start
        built = flavours.built_channels(workdir)
        say(f"Sherpa built {len(built)} channel(s) in {t_init:.1f} s")
        ctx = RunContext(job=job, me=MEEvaluator(gen), built=built, store=store)
        res = RUNS[job.mode](ctx)
        add_timings(ctx, res)
        res.sherpa_channels = [SherpaChannel(n, tuple(p), i) for n, p, i in built]
        res.comix_map = flavours.comix_map(workdir)
        res.init_seconds = t_init
        res.seconds = time.perf_counter() - t_start
        res.cpu_seconds = time.process_time()
        res.sherpa_version = sherpa_version()
        atomic_write_text(result, json.dumps(res.to_json(), indent=1))
    except (DumperError, OSError, KeyError, ValueError) as err:
        say(f"error: {err}")
        return 3
    say(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Sherpa's atexit teardown can hang or crash after a clean run; the work is saved, leave at once
    os._exit(code)
