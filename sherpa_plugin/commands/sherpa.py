"""``fame sherpa dump``: training data from real Sherpa (run card, process string, or an input dump)."""

from __future__ import annotations

import argparse
from typing import Any

from . import add_json_flag

#: ``--cluster`` kinds (dask-jobqueue classes in :data:`sherpa_plugin.dump_jobs.CLUSTER_KINDS`; not imported
#: here, so that ``fame --help`` stays fast)
CLUSTERS = ("htcondor", "lsf", "pbs", "sge", "slurm")


def register(subparsers: Any) -> None:
    """Add ``fame sherpa`` with its ``dump`` subcommand."""
    top: argparse.ArgumentParser = subparsers.add_parser(
        "sherpa", help="drive real Sherpa (the Sherpa-side dumper)", description="Drive real Sherpa 3."
    )
    sub = top.add_subparsers(dest="sherpa_command", metavar="SUBCOMMAND", required=True)
    p: argparse.ArgumentParser = sub.add_parser(
        "dump",
        help="dump |M|^2 (and event weights) from Sherpa into fame dumps, one per channel",
        description=(
            "Run Sherpa under its own Python (sherpa-mc 3.0.3) and write one fame dump OUT/<channel>.npz per "
            "partonic channel.  Lepton beams: flat RAMBO points with the cut s_ij > ycut*s, |M|^2 by "
            "MEProcess.  Hadron beams: Sherpa's weighted event generation (PDFs, flux, importance sampling; "
            "full weight, x1, x2, scales) and |M|^2 by MEProcess at each event.  --momenta FILE: Sherpa's "
            "|M|^2 at the momenta of a fame dump.  Output is chunked; rerunning the same command resumes."
        ),
    )
    p.add_argument("runcard", nargs="?", metavar="RUNCARD", help="a Sherpa 3 run card (Sherpa.yaml)")
    p.add_argument("--process", metavar="'IN IN -> OUT...'", help="PDG ids, e.g. '11 -11 -> 1 -1 21 21'")
    p.add_argument("--momenta", metavar="DUMP", help="evaluate Sherpa's |M|^2 at this fame dump's momenta")
    p.add_argument("--points", type=float, default=None, metavar="K",
                   help="points per channel (lepton beams) or weighted events in total (hadron beams; "
                   "rerun an unfinished hadron dump with a smaller K to stop it there)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--beams", type=int, nargs=2, default=(11, -11), metavar=("B1", "B2"),
                   help="beam PDG ids (default 11 -11; 2212 2212 for pp)")
    p.add_argument("--sqrt-s", type=float, default=1000.0, metavar="GEV", help="collider energy, GeV")
    p.add_argument("--ycut", type=float, default=None, help="lepton beams: cut s_ij > ycut*s (e.g. 0.01)")
    p.add_argument("--mll", type=float, nargs=2, default=None, metavar=("MIN", "MAX"),
                   help="hadron beams: e+e- mass window in GeV (e.g. 66 13000)")
    p.add_argument("--jet-pt", type=float, default=None, metavar="GEV", help="hadron beams: jet pT cut")
    p.add_argument("--jet-r", type=float, default=0.4, help="hadron beams: anti-kt radius (default 0.4)")
    p.add_argument("--order-qcd", type=int, default=None, help="QCD coupling order (default: n_strong - 2)")
    p.add_argument("--channel", action="append", default=[], metavar="NAME",
                   help="only this channel (repeatable; lepton beams)")
    p.add_argument("--integration", choices=("fast", "medium", "sherpa"), default="medium",
                   help="hadron beams: Sherpa integration effort before generating (default medium)")
    p.add_argument("--timing-points", type=int, default=0, metavar="N",
                   help="also time MatrixElement() at N test points for every channel Sherpa built")
    p.add_argument("--timing-only", action="store_true",
                   help="no dumps, no integration: only time MatrixElement() of every channel")
    p.add_argument("--chunk", type=int, default=None, help="points per saved chunk (resumable unit)")
    p.add_argument("--me-check-every", type=int, default=1, metavar="N",
                   help="hadron beams: |M|^2 from Sherpa's event MEWeight, checked against MEProcess at "
                   "every N-th event (default 1: MEProcess at every event; N > 1 halves ME-dominated dumps)")
    p.add_argument("--colour-scheme", choices=("sum", "sample"), default="sum",
                   help="hadron beams: Sherpa's colour treatment in the weighted generation: sum (default, "
                   "COLOR_SCHEME 1, exact colour-summed |M|^2) or sample (COLOR_SCHEME 2: one sampled colour "
                   "configuration per event; me2 is Sherpa's MEWeight estimate; for the colour-sampled "
                   "baseline's weights and CPU times)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--integration-from", default=None, metavar="DIR",
                   help="hadron beams: reuse the Sherpa integration of an earlier dump of the same setup "
                   "(its --out folder), e.g. for more events with another --seed")
    p.add_argument("--sherpa-python", default=None, metavar="PYTHON",
                   help="Python with sherpa-mc (default: $FAME_SHERPA_PYTHON, else .venv-sherpa)")
    p.add_argument("--fresh", action="store_true", help="discard unfinished work in OUT first")
    par = p.add_argument_group(
        "parallel generation (hadron beams)",
        "Integrate once, then run N generation jobs as Dask tasks, each with its own seed derived from "
        "--seed; OUT holds one dump per channel over all jobs (sigma = sum(weight) / sum(trials)).  "
        "Rerunning the same command finishes only what is missing.  Workers elsewhere need fame, and a "
        "Sherpa Python at --sherpa-python (or their own FAME_SHERPA_PYTHON / .venv-sherpa); without a shared "
        "file system the finished dumps travel back through Dask.",
    )
    par.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="generation jobs (default 1: one Sherpa process, no Dask)")
    par.add_argument("--scheduler", default=None, metavar="ADDR",
                     help="a running Dask scheduler (tcp://HOST:PORT) instead of a local cluster")
    par.add_argument("--workers", type=int, default=None, metavar="W",
                     help="local Dask workers (default: one per core, at most N), or batch jobs with "
                     "--cluster (default N); given, it runs even --jobs 1 as a Dask task")
    par.add_argument("--cluster", choices=CLUSTERS, default=None,
                     help="start the workers as batch jobs through dask-jobqueue (one core each)")
    par.add_argument("--cluster-queue", default=None, metavar="Q", help="--cluster: partition / queue")
    par.add_argument("--cluster-account", default=None, metavar="A", help="--cluster: account / project")
    par.add_argument("--cluster-walltime", default="24:00:00", metavar="HH:MM:SS",
                     help="--cluster: wall-time limit of each batch job (default 24:00:00)")
    par.add_argument("--cluster-memory", default="2GB", metavar="MEM",
                     help="--cluster: memory of each batch job (default 2GB)")
    par.add_argument("--cluster-directive", action="append", default=[], metavar="DIRECTIVE",
                     help="--cluster: an extra batch directive, e.g. --cluster-directive=--constraint=avx2 "
                     "(repeatable)")
    par.add_argument("--cluster-prologue", action="append", default=[], metavar="LINE",
                     help="--cluster: a shell line run before each worker, e.g. "
                     "'source fame/.venv/bin/activate'")
    par.add_argument("--cluster-python", default=None, metavar="PYTHON",
                     help="--cluster: the Python running the worker on the batch nodes (default: this one)")
    par.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(p)
    p.set_defaults(func=run_dump)


def run_dump(args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`sherpa_plugin.dump.sherpa_dump` from the parsed arguments."""
    from ..dump import DumpSettings, sherpa_dump
    from ..dump_jobs import ClusterSpec

    if args.momenta is None and args.points is None and not args.timing_only:
        raise ValueError("--points is required (unless --momenta gives the points)")
    points = int(args.points) if args.points is not None else 0
    if args.points is not None and points != args.points:
        raise ValueError(f"--points must be a whole number, got {args.points}")
    settings = DumpSettings(
        points=points,
        seed=args.seed,
        chunk=args.chunk,
        y_cut=args.ycut,
        integration=args.integration,
        timing_points=args.timing_points,
        channels=tuple(args.channel),
        timing_only=args.timing_only,
        me_check_every=args.me_check_every,
        colour_scheme=args.colour_scheme,
    )
    cluster = None
    if args.cluster is not None:
        cluster = ClusterSpec(
            kind=args.cluster,
            queue=args.cluster_queue,
            account=args.cluster_account,
            walltime=args.cluster_walltime,
            memory=args.cluster_memory,
            job_directives=tuple(args.cluster_directive),
            prologue=tuple(args.cluster_prologue),
            python=args.cluster_python,
        )
    elif any((args.cluster_queue, args.cluster_account, args.cluster_directive, args.cluster_prologue,
              args.cluster_python)):
        raise ValueError("--cluster-* options need --cluster KIND")
    result = sherpa_dump(
        args.out,
        settings,
        run_card=args.runcard,
        process=args.process,
        input_dump=args.momenta,
        beams=tuple(args.beams),
        sqrt_s=args.sqrt_s,
        mll=tuple(args.mll) if args.mll else None,
        jet_pt=args.jet_pt,
        jet_r=args.jet_r,
        order_qcd=args.order_qcd,
        sherpa_python=args.sherpa_python,
        fresh=args.fresh,
        integration_from=args.integration_from,
        jobs=args.jobs,
        scheduler=args.scheduler,
        workers=args.workers,
        cluster=cluster,
        progress=not args.no_progress,
    )
    res = result.to_json()
    out: dict[str, Any] = {
        "channels": [
            {k: c.get(k) for k in ("process", "pdg", "points", "file", "me_ms_per_point", "ps_ms_per_point")}
            for c in res["channels"]
        ],
        "points": res["points"],
        "ms_per_point": res["ms_per_point"],
        "out": res["out"],
        "mode": res["mode"],
        "n_sherpa_channels": len(result.sherpa_channels),
    }
    for key in ("ps_ms_per_point", "ps_cpu_ms_per_point", "gen_ms_per_event", "init_seconds", "sigma_pb",
                "sigma_err_pb", "sum_weights", "sum_trials", "n_jobs", "workers", "integration_seconds",
                "generation_seconds", "events_per_second", "sherpa_cpu_seconds"):
        if res.get(key) is not None:
            out[key] = res[key]
    for key in ("timing", "timing_cpu", "jobs"):
        if res.get(key):
            out[key] = res[key]
    return out
