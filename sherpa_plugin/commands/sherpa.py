"""``fame sherpa dump``: training data from real Sherpa (run card, process string, or an input dump)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ..cluster import CLUSTER_KINDS, ClusterSpec
from ..dump import COLOUR_SCHEMES, INTEGRATION, DumpSettings, DumpSource
from ._options import Option, add_command, add_options, add_progress_flag, config_from_args, options_given

#: the DumpSource fields set from the command line (run card, process and input dump are positional or
#: their own flags); their defaults are the dataclass's
SOURCE_OPTIONS = (
    Option("beams", nargs=2, metavar=("B1", "B2"), help="beam PDG ids (2212 2212 for pp)"),
    Option("sqrt_s", metavar="GEV", help="collider energy, GeV"),
    Option("mll", metavar=("MIN", "MAX"), help="hadron beams: e+e- mass window in GeV (e.g. 66 13000)"),
    Option("jet_pt", metavar="GEV", help="hadron beams: jet pT cut"),
    Option("jet_r", metavar="R", help="hadron beams: anti-kt radius"),
    Option("order_qcd", metavar="N", help="QCD coupling order (none: n_strong - 2)"),
)
#: the DumpSettings fields set from the command line (``points`` is --points, checked to be whole)
SETTINGS_OPTIONS = (
    Option("y_cut", flag="--ycut", metavar="Y", help="lepton beams: cut s_ij > ycut*s (e.g. 0.01)"),
    Option("channels", flag="--channel", metavar="NAME", repeat=True,
           help="only this channel (repeatable; lepton beams)"),
    Option("integration", choices=tuple(INTEGRATION),
           help="hadron beams: Sherpa integration effort before generating"),
    Option("timing_points", metavar="N",
           help="also time MatrixElement() at N test points for every channel Sherpa built"),
    Option("timing_only", help="no dumps, no integration: only time MatrixElement() of every channel"),
    Option("chunk", metavar="N", help="points per saved chunk (resumable unit)"),
    Option("me_check_every", metavar="N",
           help="hadron beams: |M|^2 from Sherpa's event MEWeight, checked against MEProcess at every N-th "
           "event (1: MEProcess at every event; N > 1 halves ME-dominated dumps)"),
    Option("colour_scheme", choices=tuple(COLOUR_SCHEMES),
           help="hadron beams: Sherpa's colour treatment in the weighted generation: sum (COLOR_SCHEME 1, "
           "exact colour-summed |M|^2) or sample (COLOR_SCHEME 2: one sampled colour configuration per "
           "event; me2 is Sherpa's MEWeight estimate; for the colour-sampled baseline's weights and CPU "
           "times)"),
    Option("seed", help="seed of RAMBO or Sherpa's RANDOM_SEED"),
)
#: the ClusterSpec fields set from the command line (``kind`` is --cluster)
CLUSTER_OPTIONS = (
    Option("queue", flag="--cluster-queue", metavar="Q", help="--cluster: partition / queue"),
    Option("account", flag="--cluster-account", metavar="A", help="--cluster: account / project"),
    Option("walltime", flag="--cluster-walltime", metavar="HH:MM:SS",
           help="--cluster: wall-time limit of each batch job"),
    Option("memory", flag="--cluster-memory", metavar="MEM", help="--cluster: memory of each batch job"),
    Option("job_directives", flag="--cluster-directive", metavar="DIRECTIVE", repeat=True,
           help="--cluster: an extra batch directive, e.g. --cluster-directive=--constraint=avx2 "
           "(repeatable)"),
    Option("prologue", flag="--cluster-prologue", metavar="LINE", repeat=True,
           help="--cluster: a shell line run before each worker, e.g. 'source fame/.venv/bin/activate'"),
    Option("python", flag="--cluster-python", metavar="PYTHON",
           help="--cluster: the Python running the worker on the batch nodes (none: this one)"),
)


def register(subparsers: Any) -> None:
    """Add ``fame sherpa`` with its ``dump`` subcommand."""
    top = add_command(subparsers, "sherpa", run=None, help="drive real Sherpa (the Sherpa-side dumper)",
                      description="Drive real Sherpa 3.")
    sub = top.add_subparsers(dest="sherpa_command", metavar="SUBCOMMAND", required=True)
    p = add_command(
        sub,
        "dump",
        run=run_dump,
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
    add_options(p, DumpSource, SOURCE_OPTIONS)
    add_options(p, DumpSettings, SETTINGS_OPTIONS)
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
    par.add_argument("--cluster", choices=sorted(CLUSTER_KINDS), default=None,
                     help="start the workers as batch jobs through dask-jobqueue (one core each)")
    add_options(par, ClusterSpec, CLUSTER_OPTIONS)
    add_progress_flag(par)


def run_dump(args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`sherpa_plugin.dump.sherpa_dump` from the parsed arguments."""
    from ..dump import sherpa_dump

    if args.momenta is None and args.points is None and not args.timing_only:
        raise ValueError("--points is required (unless --momenta gives the points)")
    points = int(args.points) if args.points is not None else 0
    if args.points is not None and points != args.points:
        raise ValueError(f"--points must be a whole number, got {args.points}")
    settings = config_from_args(DumpSettings, args, SETTINGS_OPTIONS, points=points)
    source = config_from_args(DumpSource, args, SOURCE_OPTIONS, run_card=args.runcard, process=args.process,
                              input_dump=args.momenta)
    cluster = None
    if args.cluster is not None:
        cluster = config_from_args(ClusterSpec, args, CLUSTER_OPTIONS, kind=args.cluster)
    elif options_given(ClusterSpec, args, CLUSTER_OPTIONS):
        raise ValueError("--cluster-* options need --cluster KIND")
    result = sherpa_dump(
        args.out,
        settings,
        **{f.name: getattr(source, f.name) for f in dataclasses.fields(source)},
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
