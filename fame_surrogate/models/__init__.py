"""Surrogate models of |M|^2: the factorisation-aware dipole model, the plain MLP baseline, ensembles.

Every model maps raw momenta to ``(me2, me2_std)`` (SPEC §3.4, §4.2); everything between (the feature map,
the standardisation of inputs and target, the Catani–Seymour dipole basis, the coefficient network and the
sum over dipoles) lives inside the module, so the same object trains in torch and exports to one ONNX graph.

* :class:`Surrogate`: the abstract base of one model (one replica).  It carries what every model family
  shares: the scalers (:meth:`Surrogate.fit_scalers`), ``forward`` (momenta → (me2, me2_std)), the training
  hooks (:meth:`Surrogate.inputs`, :meth:`Surrogate.losses`) and the export hook
  (:meth:`Surrogate.for_export`).
* :class:`DipoleModel`: ``me2 = exp(L(x)) Σ_k w_k(x) D_k(p)`` (+ azimuthal terms) with positive weights
  ``w ≈ exp(NN)``, bounded above (:func:`.dipole.dipole_weights`), and a log-normalisation ``L`` =
  least-squares linear skip + network (the dipole ansatz of arXiv:2107.06625, normalised for hadron
  collisions); for a final-state lepton pair the D_k carry its γ*/Z or W factor (:mod:`.resonance`, chosen
  from the process).
* :class:`MLPModel`: the network predicts the standardised target ``(asinh(me2/scale) - mean)/std`` directly.
* :class:`Ensemble`: R replicas, ``me2`` = mean, ``me2_std`` = sample standard deviation (0 for R = 1).

The standardisation constants are buffers (float64), set once from training data by :meth:`fit_scalers`.
Evaluation mode (``model.eval()``, which the exporter sets) computes the ONNX form of every operation, so
torch and ONNX Runtime agree; no ``forward`` asks whether it is being exported.

Modules: :mod:`.network` (the MLPs), :mod:`.scalers` (input and target standardisation), :mod:`.base`
(:class:`Surrogate`), :mod:`.dipole`, :mod:`.mlp`, :mod:`.ensemble`; the model kinds and activations are
settings, in :mod:`fame_surrogate.config`.
"""

from __future__ import annotations

from .base import FUSED_BATCH_MAX, LossBatch, ModelInputs, Surrogate
from .dipole import DipoleModel
from .ensemble import Ensemble, build_model
from .mlp import MLPModel
from .network import Network, net_dtype, run_net
from .scalers import TargetTransform, fold_input_standardisation

__all__ = [
    "FUSED_BATCH_MAX",
    "DipoleModel",
    "Ensemble",
    "LossBatch",
    "MLPModel",
    "ModelInputs",
    "Network",
    "Surrogate",
    "TargetTransform",
    "build_model",
    "fold_input_standardisation",
    "net_dtype",
    "run_net",
]
