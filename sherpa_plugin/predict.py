"""Surrogate |M|² against the stored ``me2`` of an event file (``fame predict``), per channel and in total."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fame_surrogate.validation import Accuracy, relative_deviation
from lhe_tools import EventBatch, read_dump
from lhe_tools.reader import read_all

from .bundle import Bundle
from .domain import Domain, check_domain

__all__ = ["ChannelPrediction", "PredictResult", "compare_file"]

F8 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ChannelPrediction:
    """The accuracy of the surrogate on one channel of the file.

    Parameters
    ----------
    process : str
        The channel (Sherpa process name).
    accuracy : Accuracy
        Surrogate against the stored ``me2`` at the channel's points.
    out_of_domain : mapping of str to int
        Events outside the surrogate's training domain, by reason (empty: none);
        see :func:`sherpa_plugin.domain.check_domain`.
    """

    process: str
    accuracy: Accuracy
    out_of_domain: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``process``, the accuracy figures, ``out_of_domain``."""
        return {"process": self.process, **self.accuracy.to_json(), "out_of_domain": dict(self.out_of_domain)}


@dataclass(frozen=True)
class PredictResult:
    """The surrogate's accuracy on a whole file.

    Parameters
    ----------
    bundle : str
        The bundle folder or ``.onnx`` model.
    file : str
        The event file.
    total : Accuracy
        Over all points of the file.
    channels : tuple of ChannelPrediction
        Per channel, in file order.
    """

    bundle: str
    file: str
    total: Accuracy
    channels: tuple[ChannelPrediction, ...]

    @property
    def out_of_domain(self) -> int:
        """Events outside the training domain, over all channels."""
        return sum(int(c.out_of_domain.get("total", 0)) for c in self.channels)

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``bundle``, ``file``, the total accuracy figures, ``channels``, ``out_of_domain``."""
        return {
            "bundle": self.bundle,
            "file": self.file,
            **self.total.to_json(),
            "channels": [c.to_json() for c in self.channels],
            "out_of_domain": self.out_of_domain,
        }


def _read_batches(path: Path) -> list[EventBatch]:
    return [read_dump(path)] if path.suffix == ".npz" else list(read_all([path]))


Predictor = tuple[Callable[[EventBatch], F8], Callable[[EventBatch], dict[str, int]]]


def _model_file(path: Path, where: str, threads: int | None, allow: bool) -> Predictor:
    """Predict and domain check with one ``fame-onnx/1`` model file."""
    from fame_surrogate.onnx_session import OnnxSurrogate

    model = OnnxSurrogate(path, threads=threads)
    train = model.metadata.train
    domain = Domain.from_metadata(model.process, model.metadata.sqrt_s, model.metadata.cuts,
                                  train if isinstance(train, dict) else None)

    def predict(batch: EventBatch) -> F8:
        if batch.process and batch.process != model.process and batch.process not in model.members:
            raise ValueError(
                f"{where}: channel {batch.process!r} is not the model's process {model.process!r} "
                f"(members {model.members}); use a bundle for multi-channel files"
            )
        return np.asarray(model.predict(batch.momenta)[0], dtype=np.float64)

    return predict, lambda batch: check_domain(domain, batch, where, allow=allow)


def _bundle(path: Path, where: str, allow: bool) -> Predictor:
    """Predict and domain check with a bundle folder."""
    bundle = Bundle.load(path)
    return (lambda batch: bundle.predict(batch)[0],
            lambda batch: bundle.check_domain(batch, where, allow=allow))


def compare_file(
    bundle: str | os.PathLike[str],
    file: str | os.PathLike[str],
    *,
    threads: int | None = None,
    allow_out_of_domain: bool = False,
) -> PredictResult:
    """Evaluate the surrogate at the momenta of ``file`` and compare with its stored ``me2``.

    Parameters
    ----------
    bundle : path
        A bundle folder (``manifest.json``) or a single ``fame-onnx/1`` ``.onnx`` file.
    file : path
        A fame dump (``.npz``) or any event file :func:`lhe_tools.reader.read_all` reads, with ``me2``.
    threads : int, optional
        ONNX Runtime threads of a single model file (default: its choice).
    allow_out_of_domain : bool
        Count events outside the training domain instead of refusing the file.

    Raises
    ------
    ValueError
        A channel has no ``me2``, is not covered, lies outside the domain (unless allowed), or the file
        has no events.
    """
    bundle_path, file_path = Path(bundle), Path(file)
    if not file_path.is_file():
        raise FileNotFoundError(f"{file_path}: no such file")
    batches = _read_batches(file_path)
    where = str(file_path)
    if bundle_path.is_file():
        predict, check = _model_file(bundle_path, where, threads, allow_out_of_domain)
    else:
        predict, check = _bundle(bundle_path, where, allow_out_of_domain)
    channels: list[ChannelPrediction] = []
    deviations: list[F8] = []
    for batch in batches:
        if batch.me2 is None:
            raise ValueError(f"{file_path}: channel {batch.process!r} has no me2 column to compare with")
        pred = predict(batch)  # first: an uncovered channel is reported as such
        dev = np.abs(relative_deviation(pred, batch.me2))
        channels.append(ChannelPrediction(batch.process, Accuracy.of_deviation(dev), check(batch)))
        deviations.append(dev)
    if not deviations:
        raise ValueError(f"{file_path}: no events")
    return PredictResult(bundle=str(bundle_path), file=str(file_path),
                         total=Accuracy.of_deviation(np.concatenate(deviations)), channels=tuple(channels))
