"""fame_surrogate: physics and ML (phase space, exact MEs, dipoles, models, training, ONNX export).

Imports ``lhe_tools`` only, never ``sherpa_plugin``.
"""

from __future__ import annotations

from .me import EWParams, UnsupportedProcessError, ee_jets_pdg, generate_ee, matrix_element, supports
from .phasespace import EEPhaseSpace, ee_beams, min_sij_over_s, pass_ycut, rambo, rambo_weight

__all__ = [
    "EEPhaseSpace",
    "EWParams",
    "UnsupportedProcessError",
    "ee_beams",
    "ee_jets_pdg",
    "generate_ee",
    "matrix_element",
    "min_sij_over_s",
    "pass_ycut",
    "rambo",
    "rambo_weight",
    "supports",
]


def __dir__() -> list[str]:
    return list(__all__)
