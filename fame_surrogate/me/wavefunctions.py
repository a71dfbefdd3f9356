"""External wavefunctions for massless particles, vectorised over events (complex128).

Conventions (reference/physics.md §1.1): metric (+,-,-,-), chiral (Weyl) basis with
gamma^mu = [[0, sigma^mu], [sigmabar^mu, 0]], sigma^mu = (1, sigma_i), sigmabar^mu = (1, -sigma_i).
Four-vectors are arrays with the Lorentz index FIRST, shape ``(4, ...)``; 2-spinors likewise ``(2, ...)``.

For a massless momentum p the matrices p.sigma and p.sigmabar have rank one:
p.sigma = zeta zeta^dagger and p.sigmabar = eta eta^dagger.  The Dirac spinors are
u_L = v_+ = [zeta; 0] and u_R = v_- = [0; eta] (phases are free: only |amplitude|^2 per helicity enters).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["lepton_currents", "linear_polarisations", "weyl_spinors"]

F8 = npt.NDArray[np.float64]
C16 = npt.NDArray[np.complex128]


def weyl_spinors(p: F8) -> tuple[C16, C16]:
    """The 2-spinors (zeta, eta) with p.sigma = zeta zeta^dagger and p.sigmabar = eta eta^dagger.

    Parameters
    ----------
    p : ndarray, float64, shape (4, ...)
        Massless momenta (E, px, py, pz) in GeV, Lorentz index first.

    Returns
    -------
    zeta, eta : ndarray, complex128, shape (2, ...)
        Normalised to zeta^dagger zeta = eta^dagger eta = 2E.  Numerically stable for every direction
        (the p^0 + p^3 and p^0 - p^3 forms are chosen by the sign of p^3).
    """
    e, px, py, pz = p[0], p[1], p[2], p[3]
    pt_p = px + 1j * py
    pt_m = px - 1j * py
    plus = e + pz
    minus = e - pz
    use_plus = pz >= 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rp = 1.0 / np.sqrt(np.where(use_plus, plus, 1.0))
        rm = 1.0 / np.sqrt(np.where(use_plus, 1.0, minus))
    # p^0 + p^3 form: zeta = (-(p1 - i p2), p0 + p3)/sqrt(p0+p3), eta = (p0 + p3, p1 + i p2)/sqrt(p0+p3)
    # p^0 - p^3 form: zeta = (p0 - p3, -(p1 + i p2))/sqrt(p0-p3), eta = (p1 - i p2, p0 - p3)/sqrt(p0-p3)
    zeta = np.stack(
        [np.where(use_plus, -pt_m * rp, minus * rm), np.where(use_plus, plus * rp, -pt_p * rm)]
    ).astype(np.complex128)
    eta = np.stack(
        [np.where(use_plus, plus * rp, pt_m * rm), np.where(use_plus, pt_p * rp, minus * rm)]
    ).astype(np.complex128)
    return zeta, eta


def linear_polarisations(k: F8) -> F8:
    """Two real transverse polarisation vectors of a massless gluon (sum over them = helicity sum).

    eps_1 = (0, cos(th) cos(ph), cos(th) sin(ph), -sin(th)), eps_2 = (0, -sin(ph), cos(ph), 0).

    Parameters
    ----------
    k : ndarray, float64, shape (4, ...)
        Massless momenta, Lorentz index first.

    Returns
    -------
    ndarray, float64, shape (4, 2, ...)
        Lorentz index, polarisation index, then the event axes of ``k``.
    """
    kx, ky, kz = k[1], k[2], k[3]
    kt = np.hypot(kx, ky)
    kk = np.sqrt(kt * kt + kz * kz)
    safe = kt > 0.0
    cph = np.where(safe, kx / np.where(safe, kt, 1.0), 1.0)
    sph = np.where(safe, ky / np.where(safe, kt, 1.0), 0.0)
    cth = kz / kk
    sth = kt / kk
    zero = np.zeros_like(kx)
    e1 = np.stack([zero, cth * cph, cth * sph, -sth])
    e2 = np.stack([zero, -sph, cph, zero])
    return np.stack([e1, e2], axis=1)


def lepton_currents(p_minus: F8, p_plus: F8) -> C16:
    """Massless e+e- annihilation currents vbar(p+) gamma^mu P_{L,R} u(p-).

    Parameters
    ----------
    p_minus, p_plus : ndarray, float64, shape (4, ...)
        Incoming e- and e+ momenta, Lorentz index first.

    Returns
    -------
    ndarray, complex128, shape (4, 2, ...)
        Contravariant currents; index 1 = 0 for a left-handed e-, 1 for a right-handed e-.
    """
    za, ea = weyl_spinors(p_minus)
    zb, eb = weyl_spinors(p_plus)
    out = []
    for row, col, sign in ((np.conj(zb), za, -1.0), (np.conj(eb), ea, 1.0)):
        r0, r1, c0, c1 = row[0], row[1], col[0], col[1]
        t = r0 * c0 + r1 * c1
        x = r0 * c1 + r1 * c0
        y = -1j * r0 * c1 + 1j * r1 * c0
        z = r0 * c0 - r1 * c1
        out.append(np.stack([t, sign * x, sign * y, sign * z]))
    return np.stack(out, axis=1)
