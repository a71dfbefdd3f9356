"""Settings of ``fame reweight`` (:func:`sherpa_plugin.reweight.reweight_file`), importable without it.

``fame reweight --help`` builds its options from :class:`ReweightConfig` without importing the reweighting
stack (the bundle, the LHE writer, the exact matrix element).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReweightConfig"]


@dataclass(frozen=True)
class ReweightConfig:
    """Settings of :func:`sherpa_plugin.reweight.reweight_file`.

    Parameters
    ----------
    ratio_to : str
        Reference |M|^2: ``"me"`` (the exact built-in one), a bundle folder, or ``"weight:ID"`` (a weight
        stored in the file).
    prefix : str
        Id of the reweighted weight; the uncertainty weight is ``<prefix>_std_up``.
    chunk_size : int
        Events per batch (memory bound, ONNX batch size).
    compresslevel : int
        gzip level for a ``.gz`` output.
    allow_out_of_domain : bool
        Reweight events outside a surrogate's training domain too (warned and counted); by default such an
        event is an error (see :mod:`sherpa_plugin.domain`).
    """

    ratio_to: str = "me"
    prefix: str = "fame"
    chunk_size: int = 4096
    compresslevel: int = 6
    allow_out_of_domain: bool = False
