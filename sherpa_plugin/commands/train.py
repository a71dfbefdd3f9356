"""``fame train DATA... --out BUNDLE``: one surrogate per reduced group, trained on Dask, as a bundle."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from fame_surrogate.config import TrainConfig

from ._options import Option, add_command, add_options, add_output_folder, add_progress_flag, config_from_args
from ._partial import PartialResult

#: the TrainConfig fields set from the command line (their defaults are the dataclass's)
OPTIONS = (
    Option("model", choices=("dipole", "mlp"), help="model kind: dipole (factorisation-aware) or mlp"),
    Option("objective",
           help="what the surrogate is for: pointwise (MSE on every point: LHE reweighting, and two-stage "
           "unweighting with the stage-1 temper), unweighting (the gain loss on --importance 0.99), or auto: "
           "pointwise (see TrainConfig)"),
    Option("loss", choices=("mse", "gain"),
           help="training loss (gain: MSE, then epochs of the f_eff-driven gain loss; none: set by "
           "--objective)"),
    Option("hidden", metavar="W",
           help="hidden layer widths (none: 256 then 5 layers of 128 for hadron collisions, 3 layers of 128 "
           "for lepton beams)"),
    Option("net_dtype", choices=("float64", "float32"),
           help="dtype of the exported network and its inputs (float32: 2-3x faster, agrees with torch to "
           "~1e-6)"),
    Option("bf16_hidden",
           help="train the network's hidden layers in bfloat16 (torch.autocast; weights, readout and the "
           "exported network stay as they are): about 1.2x the epochs per CPU second at Z+4 (none: on for "
           "hadron collisions where the CPU has bfloat16 products, off for lepton beams)"),
    Option("weight_power", metavar="P",
           help="weighted events: weight each point's squared error by (|w|/<|w|>)^P, so the points carrying "
           "the cross section count more (0.2 for Sherpa's Z+4/5-jet weights)"),
    Option("importance_fraction", flag="--importance", metavar="F",
           help="weighted events: always train on the heaviest points that carry F of sum|w|, on lighter "
           "ones with probability ~|w| (see --importance-floor); none: 0.99 with --objective unweighting, "
           "else every point"),
    Option("importance_floor", metavar="P", help="the smallest keep probability with --importance"),
    Option("symmetry",
           help="identical final-state particles: training sees every point in up to --augment orders "
           "(augment), or the model sorts them into one canonical order (canonical: more accurate per point "
           "on large pp samples); auto: canonical where --augment's cap leaves fewer than 2 orders per "
           "point, else augment (see TrainConfig)"),
    Option("augment", metavar="K",
           help="with --symmetry augment: use every training point in up to K orders of its identical "
           "final-state particles (exact, free data; 1 disables)"),
    Option("penalty_j", flag="--penalty", metavar="J",
           help="factorisation penalty of the dipole model (none: chosen by the beams, see TrainConfig)"),
    Option("replicas", metavar="R", help="ensemble replicas per group, each its own Dask task"),
    Option("epochs", help="maximum epochs per replica"),
    Option("max_points", help="train on at most this many points per group"),
    Option("max_seconds", help="time budget per group, per replica with --replicas > 1 (see --clock)"),
    Option("seed", help="seed of split, initialisation and shuffling"),
    Option("val_fraction", metavar="F",
           help="the fraction of each group's events that no replica trains on: early stopping, the reported "
           "accuracy, and for weighted pp events the stage-1 temper beta are measured on them"),
    Option("batch_size", metavar="B", help="mini-batch size (none: 1024 from a million training points "
           "per epoch, permuted copies counted, else 512; see TrainConfig)"),
    Option("lr", help="initial learning rate (of AdamW, and of Muon at AdamW's update size)"),
    Option("weight_decay", metavar="WD",
           help="decoupled weight decay (AdamW) of the network's weights: each step scales them by "
           "1 - lr x WD (0: plain Adam; none: 0.01 for hadron collisions, 0 for lepton beams)"),
    Option("huber_delta", metavar="DELTA",
           help="pseudo-Huber loss of the pointwise fit (the MSE phase): relative errors of |M|^2 beyond "
           "about DELTA count linearly, not squared (0: the mean square; none: 0.02 for hadron "
           "collisions, 0 for lepton beams)"),
    Option("optimizer", choices=("adamw", "muon"),
           help="the network's optimiser: muon (default: Muon on the hidden weight matrices, AdamW on the "
           "readout and the biases; the same --lr and --weight-decay), or adamw"),
    Option("gain_lr", metavar="LR", help="the learning rate in the gain phase (--loss gain)"),
    Option("gain_mse_weight", metavar="MU",
           help="the gain phase minimises the gain loss + MU x the MSE phase's loss (--loss gain; 0: the "
           "gain loss alone)"),
    Option("gain_time_ratio", metavar="R",
           help="r of the gain loss log[r/(eps_1 eps_2) + 1/eps_2] on each mini-batch of the gain phase: "
           "the weight of stage 1's efficiency against stage 2's (--loss gain; 0: eps_2 alone)"),
    Option("gain_rescale",
           help="after the gain phase, rescale each replica so that the held-out median of ln(surrogate/"
           "|M|^2) is 0 (the gain loss leaves the scale free; no efficiency changes)"),
    Option("lepton_angles",
           help="the dipole model factorises the decay angles of a final-state lepton pair (pp -> l+l- / "
           "l nu + 2 or more jets) exactly: its network reads the hadronic event alone (default on; see "
           "TrainConfig)"),
    Option("antenna",
           help="pp -> Z/W + jets with one quark line: the network also reads the logarithm of the antenna "
           "chain, the sum over the gluons' colour orderings of the products of 1/s_ab along the chain "
           "(default on; see TrainConfig)"),
    Option("ema_decay", metavar="D",
           help="Polyak averaging: validate, keep and export the moving average of the weights, decay D per "
           "step (0: off)"),
    Option("decay_fraction", metavar="F",
           help="cosine warm-down of the learning rate over the last F of the run.  With the defaults "
           "e+e- -> 5 jets reaches 97%% within 1%% in 10 minutes of 2 cores: --clock cpu --max-seconds 570"),
    Option("clock", choices=("wall", "cpu"),
           help="--max-seconds counts wall-clock seconds or the training process's CPU seconds (comparable "
           "under load)"),
)


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    p = add_command(
        subparsers,
        "train",
        run=run,
        help="train one surrogate per reduced group and write the bundle",
        description=(
            "Read DATA (fame dumps or event files with |M|^2), group the channels into reduced groups, "
            "train one surrogate per group on Dask (a LocalCluster sized to this machine, or the scheduler "
            "given by --scheduler / DASK_SCHEDULER_ADDRESS) and write BUNDLE (models/<group>.onnx, "
            "manifest.json, sherpa-snippet.yaml).  Rerunning skips groups whose model is up to date.  "
            "Exit status 3 when some group failed (the others are in the bundle)."
        ),
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="event files or folders of them")
    add_output_folder(p, "BUNDLE", "bundle folder to write",
                      force="write the bundle into a non-empty folder that is not a bundle (its other files "
                      "are kept)")
    add_options(p, TrainConfig, OPTIONS)
    p.add_argument(
        "--scheduler", default=None, metavar="ADDR",
        help="Dask scheduler, e.g. tls://host:8786 (default: DASK_SCHEDULER_ADDRESS, announced on stderr, "
        "else a local cluster).  fame exchanges pickles with the scheduler and its workers: trust them",
    )
    p.add_argument("--tls-ca-file", default=None, metavar="FILE", help="TLS: CA certificate (+ --tls-cert)")
    p.add_argument("--tls-cert", default=None, metavar="FILE", help="TLS: this client's certificate")
    p.add_argument("--tls-key", default=None, metavar="FILE", help="TLS: this client's private key")
    p.add_argument(
        "--workers", type=int, default=None, metavar="N", help="local Dask workers (default: cores)"
    )
    add_progress_flag(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train the bundle; the result has ``groups``, ``seconds`` and per group ``val_frac_within_1pct``."""
    if getattr(args, "verbose", 0) < 2:  # Dask's own INFO chatter (connections, nannies) only with -vv
        import distributed  # its import configures the "distributed" logger; override it afterwards

        logging.getLogger(distributed.__name__).setLevel(logging.WARNING)

    from ..orchestrate import train_bundle
    from ..train_dask import dask_security
    from ..train_result import GroupStatus

    config = config_from_args(TrainConfig, args, OPTIONS)
    result = train_bundle(
        args.data,
        args.out,
        config,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=not args.no_progress,
        security=dask_security(args.tls_ca_file, args.tls_cert, args.tls_key),
        force=args.force,
    )
    if result.failed:
        failed = [g for g in result.groups if g.status is GroupStatus.FAILED]
        if not result.trained and not result.skipped:  # nothing usable: an error, not a partial result
            errors = "; ".join(f"{g.name}: {g.error}" for g in failed)
            raise ValueError(f"every group failed, the bundle {result.bundle} has no model: {errors}")
        raise PartialResult(
            f"{result.failed} group(s) failed: {', '.join(g.name for g in failed)} (tracebacks above and in "
            f"{result.manifest}); the others are in the bundle",
            result.to_json(),
        )
    return result.to_json()
