"""fame_surrogate: physics and ML (phase space, exact MEs, dipoles, models, training, ONNX export).

Imports ``lhe_tools`` only, never ``sherpa_plugin``.
"""

from __future__ import annotations

from .dipoles import DipoleBasis
from .export import ContractError, OnnxSurrogate, export_onnx
from .features import FeatureMap
from .me import EWParams, UnsupportedProcessError, ee_jets_pdg, generate_ee, matrix_element, supports
from .models import DipoleModel, Ensemble, MLPModel, build_model
from .phasespace import EEPhaseSpace, ee_beams, min_sij_over_s, pass_ycut, rambo, rambo_weight
from .resonance import LeptonPairPropagator
from .train import TrainConfig, TrainResult, train_surrogate
from .validation import (
    Accuracy,
    accuracy,
    effective_gain,
    ideal_gain,
    max_epsilon,
    relative_deviation,
    two_stage,
    unweight,
)

__all__ = [
    "Accuracy",
    "ContractError",
    "DipoleBasis",
    "DipoleModel",
    "EEPhaseSpace",
    "EWParams",
    "Ensemble",
    "FeatureMap",
    "LeptonPairPropagator",
    "MLPModel",
    "OnnxSurrogate",
    "TrainConfig",
    "TrainResult",
    "UnsupportedProcessError",
    "accuracy",
    "build_model",
    "ee_beams",
    "ee_jets_pdg",
    "effective_gain",
    "export_onnx",
    "generate_ee",
    "ideal_gain",
    "matrix_element",
    "max_epsilon",
    "min_sij_over_s",
    "pass_ycut",
    "rambo",
    "rambo_weight",
    "relative_deviation",
    "supports",
    "train_surrogate",
    "two_stage",
    "unweight",
]


def __dir__() -> list[str]:
    return list(__all__)
