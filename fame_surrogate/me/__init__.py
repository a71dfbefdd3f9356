"""Built-in exact tree-level matrix elements for e+e- -> jets (SPEC §4.1, reference/physics.md §1)."""

from __future__ import annotations

from .couplings import EWParams, params_from_meta
from .ee_jets import UnsupportedProcessError, matrix_element, supports
from .generate import GenerateConfig, ee_jets_pdg, generate_ee

__all__ = [
    "EWParams",
    "GenerateConfig",
    "UnsupportedProcessError",
    "ee_jets_pdg",
    "generate_ee",
    "matrix_element",
    "params_from_meta",
    "supports",
]


def __dir__() -> list[str]:
    return list(__all__)
