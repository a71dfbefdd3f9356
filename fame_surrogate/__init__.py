"""fame_surrogate: physics and ML (phase space, exact MEs, dipoles, models, training, ONNX export).

Imports ``lhe_tools`` only, never ``sherpa_plugin``.  Names are imported on first use, so that the settings
(:mod:`fame_surrogate.config`) and ``fame --help`` do not pay for torch and onnx.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "DipoleBasis": "dipoles",
    "OnnxSurrogate": "onnx_session",
    "export_onnx": "export",
    "FeatureMap": "features",
    "EWParams": "me",
    "UnsupportedProcessError": "me",
    "ee_jets_pdg": "me",
    "generate_ee": "me",
    "matrix_element": "me",
    "supports": "me",
    "DipoleModel": "models",
    "Ensemble": "models",
    "MLPModel": "models",
    "build_model": "models",
    "ContractError": "onnx_meta",
    "EEPhaseSpace": "phasespace",
    "ee_beams": "phasespace",
    "min_sij_over_s": "phasespace",
    "pass_ycut": "phasespace",
    "rambo": "phasespace",
    "rambo_weight": "phasespace",
    "LeptonPairPropagator": "resonance",
    "CanonicalOrder": "symmetry",
    "TrainConfig": "config",
    "TrainResult": "train",
    "train_surrogate": "train",
    "Accuracy": "validation",
    "accuracy": "validation",
    "effective_gain": "validation",
    "ideal_gain": "validation",
    "max_epsilon": "validation",
    "relative_deviation": "validation",
    "two_stage": "validation",
    "unweight": "validation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fame_surrogate' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return list(__all__)
