"""Electroweak and strong couplings of the built-in MEs (shared/data/sherpa-ee/README.md).

Sherpa 3.0.3 defaults: G_mu scheme and the complex-mass scheme.  With mu_V^2 = M_V^2 - i M_V Gamma_V,
sin^2(theta_W) = 1 - mu_W^2 / mu_Z^2 (complex) and alpha = sqrt(2) G_F |mu_W^2 sin^2(theta_W)| / pi
(= 1/132.119).  The same alpha is used for the photon and the Z; the Z propagator is 1/(s - mu_Z^2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EWParams", "boson_couplings", "quark_charge", "quark_isospin"]


@dataclass(frozen=True)
class EWParams:
    """Couplings and masses (GeV) of the e+e- -> jets matrix elements.

    Parameters
    ----------
    gf : float
        Fermi constant G_F in GeV^-2.
    mz, gamma_z, mw, gamma_w : float
        Z and W masses and widths in GeV.
    alpha_s : float
        Strong coupling (fixed, alpha_s(M_Z) in the Sherpa reference data).
    alpha : float or None
        Electromagnetic coupling; ``None`` derives it in the G_mu scheme.
    z_exchange : bool
        Include the Z (with Z-photon interference); ``False`` reproduces Sherpa with the Z switched off.
    """

    gf: float = 1.16639e-5
    mz: float = 91.1876
    gamma_z: float = 2.4952
    mw: float = 80.379
    gamma_w: float = 2.085
    alpha_s: float = 0.118
    alpha: float | None = None
    z_exchange: bool = True

    @property
    def mu_z2(self) -> complex:
        """Complex Z mass squared mu_Z^2 = M_Z^2 - i M_Z Gamma_Z (GeV^2)."""
        return complex(self.mz**2, -self.mz * self.gamma_z)

    @property
    def mu_w2(self) -> complex:
        """Complex W mass squared mu_W^2 = M_W^2 - i M_W Gamma_W (GeV^2)."""
        return complex(self.mw**2, -self.mw * self.gamma_w)

    @property
    def sw2(self) -> complex:
        """Complex sin^2(theta_W) = 1 - mu_W^2 / mu_Z^2."""
        return 1.0 - self.mu_w2 / self.mu_z2

    @property
    def cw2(self) -> complex:
        """Complex cos^2(theta_W) = mu_W^2 / mu_Z^2."""
        return self.mu_w2 / self.mu_z2

    @property
    def alpha_qed(self) -> float:
        """alpha used for photon and Z couplings (G_mu scheme unless ``alpha`` is given)."""
        if self.alpha is not None:
            return float(self.alpha)
        return math.sqrt(2.0) * self.gf * abs(self.mu_w2 * self.sw2) / math.pi

    @property
    def e2(self) -> float:
        """e^2 = 4 pi alpha."""
        return 4.0 * math.pi * self.alpha_qed

    @property
    def gs2(self) -> float:
        """g_s^2 = 4 pi alpha_s."""
        return 4.0 * math.pi * self.alpha_s


def quark_charge(flavour: int) -> float:
    """Electric charge of quark ``flavour`` (1..5 = d, u, s, c, b) in units of e."""
    return 2.0 / 3.0 if abs(flavour) in (2, 4) else -1.0 / 3.0


def quark_isospin(flavour: int) -> float:
    """Weak isospin T_3 of the left-handed quark ``flavour``."""
    return 0.5 if abs(flavour) in (2, 4) else -0.5


def _chiral(q: float, t3: float, sw2: complex, cw2: complex) -> tuple[complex, complex]:
    """(g_L * s_W c_W, g_R * s_W c_W): chiral Z couplings times s_W c_W (no square root needed)."""
    return complex(t3 - q * sw2), complex(-q * sw2)


def boson_couplings(flavour: int, s: float, params: EWParams) -> list[list[complex]]:
    """e^2 [Q_e Q_q / s + g_e g_q / (s - mu_Z^2)] for every lepton and quark chirality.

    Photon vertex -i e Q_f gamma^mu, Z vertex -i e gamma^mu (g_L P_L + g_R P_R) with
    g_L = (T3 - Q s_W^2) / (s_W c_W), g_R = -Q s_W / c_W (reference/physics.md §1.5).

    Parameters
    ----------
    flavour : int
        Quark flavour (1..5).
    s : float
        Invariant mass squared of the e+e- pair, GeV^2.
    params : EWParams
        Couplings.

    Returns
    -------
    list of list of complex
        ``K[lepton_chirality][quark_chirality]`` with 0 = left, 1 = right, in GeV^-2.
    """
    qe, t3e = -1.0, -0.5
    qq, t3q = quark_charge(flavour), quark_isospin(flavour)
    sw2, cw2 = params.sw2, params.cw2
    ge = _chiral(qe, t3e, sw2, cw2)
    gq = _chiral(qq, t3q, sw2, cw2)
    prop_z = 1.0 / (s - params.mu_z2) if params.z_exchange else 0.0
    out: list[list[complex]] = []
    for le in range(2):
        row = []
        for lq in range(2):
            z = ge[le] * gq[lq] / (sw2 * cw2) * prop_z
            row.append(params.e2 * (qe * qq / s + z))
        out.append(row)
    return out


def params_from_meta(meta: Mapping[str, Any]) -> EWParams:
    """The :class:`EWParams` that reproduce a fame dump, from its metadata.

    Reads ``alpha_s``, ``alpha_qed`` and the EW masses and widths where present (Sherpa reference dumps and
    :func:`fame_surrogate.me.generate_ee` output both record them); a dump whose ``exchange`` says
    "only" (Sherpa with the Z switched off) or whose ``ew.z_exchange`` is false gets ``z_exchange=False``.

    Parameters
    ----------
    meta : mapping
        Dump metadata.

    Returns
    -------
    EWParams
    """
    ew = meta.get("ew") or {}
    base = EWParams()
    z_on = bool(ew.get("z_exchange", True)) and "only" not in str(meta.get("exchange", ""))
    alpha = meta.get("alpha_qed", ew.get("alpha_qed"))
    return EWParams(
        gf=float(ew.get("GF", base.gf)),
        mz=float(ew.get("MZ", base.mz)),
        gamma_z=float(ew.get("GammaZ", base.gamma_z)),
        mw=float(ew.get("MW", base.mw)),
        gamma_w=float(ew.get("GammaW", base.gamma_w)),
        alpha_s=float(meta.get("alpha_s", base.alpha_s)),
        alpha=None if alpha is None else float(alpha),
        z_exchange=z_on,
    )
