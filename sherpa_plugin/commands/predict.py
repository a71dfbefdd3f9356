"""``fame predict BUNDLE FILE``: surrogate |M|^2 against the stored ``me2`` at the file's momenta (SPEC §1).

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

        model = OnnxSurrogate(bundle_path, threads=args.threads)

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

        def predict(batch: Any) -> Any:
            return bundle.predict(batch)[0]

    channels: list[dict[str, Any]] = []
    rel_all: list[np.ndarray] = []
    for batch in batches:
        if batch.me2 is None:
            raise ValueError(f"{file_path}: channel {batch.process!r} has no me2 column to compare with")
        pred = predict(batch)
        channels.append({"process": batch.process, **accuracy(pred, batch.me2)})
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
    }
