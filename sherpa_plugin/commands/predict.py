"""``fame predict BUNDLE FILE``: surrogate |M|^2 against the stored ``me2`` at the file's momenta.

BUNDLE is a bundle folder (``manifest.json``) or a single ``fame-onnx/1`` ``.onnx`` file.  FILE is a fame
dump (``.npz``) or any event file the ``lhe_tools`` reader understands, with ``me2`` per event.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

import numpy as np

from . import add_json_flag


def register(subparsers: Any) -> None:
    """Add the ``predict`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "predict",
        help="compare surrogate predictions with the stored me2 of a file",
        description=(
            "Evaluate the surrogate of BUNDLE (a bundle folder, or one fame-onnx/1 .onnx file) at the "
            "momenta of FILE and compare with FILE's me2: fraction of points within 1% and 0.1%, median "
            "|relative deviation|, per channel and in total."
        ),
    )
    p.add_argument("bundle", metavar="BUNDLE", help="bundle folder or .onnx model")
    p.add_argument("file", metavar="FILE", help="fame dump (.npz) or event file with me2")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: its choice)")
    p.add_argument(
        "--allow-out-of-domain", action="store_true",
        help="predict also events outside the surrogate's training domain (sqrt_s, cuts, sqrt(shat) range): "
        "warn and count them instead of refusing the file",
    )
    add_json_flag(p)
    p.set_defaults(func=run)


def _read_batches(path: Path) -> list[Any]:
    from lhe_tools import read_dump

    if path.suffix == ".npz":
        return [read_dump(path)]
    try:
        reader = importlib.import_module("lhe_tools.reader")
    except ImportError as err:
        raise ValueError(f"{path}: only fame dumps (.npz) can be read here ({err})") from err
    return list(reader.read_all([path]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Predict and compare; the result has ``points``, ``frac_within_1pct``, ``frac_within_0p1pct``,
    ``median_abs_rel_dev`` and ``channels`` (the same per channel)."""
    from fame_surrogate.metrics import accuracy, relative_deviation

    bundle_path, file_path = Path(args.bundle), Path(args.file)
    if not file_path.is_file():
        raise FileNotFoundError(f"{file_path}: no such file")
    batches = _read_batches(file_path)
    if bundle_path.is_file():
        from fame_surrogate.export import OnnxSurrogate

        from ..domain import Domain, check_domain

        model = OnnxSurrogate(bundle_path, threads=args.threads)
        train = model.metadata.get("train")
        domain = Domain.from_metadata(model.process, model.metadata.get("sqrt_s"), model.metadata.get("cuts"),
                                      train if isinstance(train, dict) else None)

        def check(batch: Any) -> dict[str, int]:
            return check_domain(domain, batch, str(file_path), allow=args.allow_out_of_domain)

        def predict(batch: Any) -> Any:
            if batch.process and batch.process != model.process and batch.process not in model.members:
                raise ValueError(
                    f"{file_path}: channel {batch.process!r} is not the model's process {model.process!r} "
                    f"(members {model.members}); use a bundle for multi-channel files"
                )
            return model.predict(batch.momenta)[0]
    else:
        from ..bundle import Bundle

        bundle = Bundle.load(bundle_path)

        def check(batch: Any) -> dict[str, int]:
            return bundle.check_domain(batch, str(file_path), allow=args.allow_out_of_domain)

        def predict(batch: Any) -> Any:
            return bundle.predict(batch)[0]

    channels: list[dict[str, Any]] = []
    rel_all: list[np.ndarray] = []
    outside: dict[str, dict[str, int]] = {}
    for batch in batches:
        if batch.me2 is None:
            raise ValueError(f"{file_path}: channel {batch.process!r} has no me2 column to compare with")
        pred = predict(batch)  # first: an uncovered channel is reported as such
        counts = check(batch)
        if counts:
            outside[batch.process] = counts
        channels.append({"process": batch.process, **accuracy(pred, batch.me2), "out_of_domain": counts})
        rel_all.append(relative_deviation(pred, batch.me2))
    if not rel_all:
        raise ValueError(f"{file_path}: no events")
    rel = np.concatenate(rel_all)
    total = accuracy(1.0 + rel, np.ones_like(rel))
    return {
        "bundle": str(bundle_path),
        "file": str(file_path),
        **total,
        "channels": channels,
        "out_of_domain": sum(c["total"] for c in outside.values()),
    }
