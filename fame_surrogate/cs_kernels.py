"""Catani–Seymour dipole kernels and recoil variables (CS hep-ph/9605323, CDST hep-ph/0201036; physics.md §2).

The spin-averaged kernels ``D = <V> / (2 p_i·p_j [· x])`` over their couplings (:func:`coupling`: 8πα_s C_F,
16πα_s C_A, 8πα_s T_R), as functions of the three Minkowski products that a dipole reads
(:func:`~fame_surrogate.dipoles.invariant_pairs`), vectorised over any common shape.  The dipole list and the
torch module that gathers the products and evaluates every dipole of a process are in
:mod:`fame_surrogate.dipoles`.

The initial–initial kernels follow Catani–Seymour (``qg``: C_F[2/(1−x) − (1+x)]), not the swapped public FAME
code (physics.md §2.5 warning); the g → gg kernels carry 16πα_s C_A.

Massive partons (CDST; spin-averaged ⟨V⟩, d = 4, κ = 0): the kernels are the massless ones of the same names
with the squared masses as optional arguments; with m = 0 they reduce to them (exactly in the formulas;
numerically to rounding: tests/fame_surrogate/test_massive_dipoles).  FI and IF are written once, the massless
form being the m → 0 case; FF keeps a massless form of its own, with fewer operations, which the exported
graph evaluates for every FF dipole of every event (:func:`ff_dipole`).

* FF, emitter mass m_i (= m_ij, ``qg``) and spectator mass m_k, with P = p_i·p_j + p_i·p_k + p_j·p_k,
  y = p_i·p_j/P, z̃_i = p_i·p_k/(p_i·p_k + p_j·p_k), the relative velocities
  v_{ij,k} = √((p_k·P_ij)² − m_k² P_ij²)/(p_k·P_ij) (P_ij = p_i + p_j; CDST's
  √((2μ_k² + (1−μ_i²−μ_j²−μ_k²)(1−y))² − 4μ_k²)/((1−μ_i²−μ_j²−μ_k²)(1−y)) with μ_n = m_n/√Q²) and
  ṽ_{ij,k} = √(λ(Q², m_ij², m_k²))/(Q² − m_ij² − m_k²) = √(P² − m_ij² m_k²)/P, z_± = (1 ± v_{ij,k})/2 for
  massless i, j (CDST 5.16, 5.20, 5.18 spin-averaged):
  ``qg``: 2/(1 − z̃_i(1−y)) − (ṽ/v)(1 + z̃_i + m_i²/(p_i·p_j));
  ``gg``: 1/(1 − z̃_i(1−y)) + 1/(1 − z̃_j(1−y)) + (z̃_i z̃_j − z_+ z_- − 2)/v;
  ``qqbar`` (light quarks, massive spectator): (1 − 2(z̃_i z̃_j − z_+ z_-))/v;
  all over 2 p_i·p_j = (p_i + p_j)² − m_ij².
* FI, emitter mass m_i (``qg``; CDST 5.50): x_{ij,a} and z̃_i as massless (m_ij = m_i, m_j = 0),
  2/(2 − x − z̃_i) − (1 + z̃_i) − m_i²/(p_i·p_j), over 2 p_i·p_j x.
* IF, spectator mass m_k (CDST 5.81–5.86): x_{ik,a} and u_i as massless; ``qg`` and ``gq`` unchanged;
  the spin-averaged collinear terms of ``gg`` and ``qq`` carry the factor 1 − m_k² u_i/(2 p_i·p_k u_k)
  (the square of CS's vector p_i/u_i − p_k/u_k with p_k² = m_k²): ``gg``: 1/(1−x+u_i) − 1 + x(1−x)
  + (1−x)/x · (1 − m_k² p_a·p_i/(2 p_i·p_k p_a·p_k)); ``qq``: x + 2(1−x)/x · (the same factor).
* II: no massive initial partons (tops are not in the proton).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "C_A",
    "C_F",
    "T_R",
    "coupling",
    "dipole_kernel",
    "ff_dipole",
    "ff_recoil",
    "fi_dipole",
    "fi_recoil",
    "if_dipole",
    "if_recoil",
    "ii_dipole",
    "ii_recoil",
]

C_F = 4.0 / 3.0
C_A = 3.0
T_R = 0.5


def ff_recoil(pij: Tensor, pik: Tensor, pjk: Tensor) -> tuple[Tensor, Tensor]:
    """FF recoil variables y_{ij,k} and z̃_i (CS §5.1)."""
    return pij / (pij + pik + pjk), pik / (pik + pjk)


def fi_recoil(pij: Tensor, pia: Tensor, pja: Tensor) -> tuple[Tensor, Tensor]:
    """FI recoil variables x_{ij,a} and z̃_i (CS §5.2)."""
    return (pia + pja - pij) / (pia + pja), pia / (pia + pja)


def if_recoil(pai: Tensor, pak: Tensor, pik: Tensor) -> tuple[Tensor, Tensor]:
    """IF recoil variables x_{ik,a} and u_i (CS §5.3)."""
    return (pak + pai - pik) / (pak + pai), pai / (pai + pak)


def ii_recoil(pai: Tensor, pbi: Tensor, pab: Tensor) -> Tensor:
    """II recoil variable x_{i,ab} (CS §5.5)."""
    return (pab - pai - pbi) / pab


def coupling(kind: str, alpha_s: float) -> float:
    """Prefactor of a kernel kind.

    8πα_s C_F (``qg``, ``qq``), 16πα_s C_A (``gg``), 8πα_s T_R (``qqbar``, ``gq``).
    """
    colour = {"qg": 8.0 * C_F, "qq": 8.0 * C_F, "gg": 16.0 * C_A, "qqbar": 8.0 * T_R, "gq": 8.0 * T_R}
    if kind not in colour:
        raise ValueError(f"unknown splitting kind {kind!r}; expected one of {sorted(colour)}")
    return colour[kind] * math.pi * alpha_s


def _final_bracket(kind: str, zi: Tensor, inv_i: Tensor, inv_j: Tensor) -> Tensor:
    """Spin-averaged FF/FI kernel over its coupling, given z̃_i and the soft denominators
    inv_i = 1/(1 − z̃_i(1−y)) (FF) or 1/(1 − z̃_i + (1−x)) (FI), and the same for j."""
    zj = 1.0 - zi
    if kind == "qg":
        return 2.0 * inv_i - (1.0 + zi)
    if kind == "gg":
        return inv_i + inv_j - 2.0 + zi * zj
    if kind == "qqbar":
        return 1.0 - 2.0 * zi * zj
    raise ValueError(f"unknown final-state splitting kind {kind!r}")


def _velocity(num2: Tensor, den: Tensor) -> Tensor:
    """√(max(num2, 0))/den: a relative velocity from its squared numerator (≥ 0 up to rounding)."""
    return torch.sqrt(torch.clamp(num2, min=0.0)) / den


def ff_dipole(
    kind: str,
    pij: Tensor,
    pik: Tensor,
    pjk: Tensor,
    m2_emitter: Tensor | None = None,
    m2_spectator: Tensor | None = None,
) -> Tensor:
    """D_{ij,k} / coupling = <V_{ij,k}> / (coupling · ((p_i + p_j)² − m_ij²)) (CS §5.1, CDST §5.1; i the
    emitter for ``qg``).

    Massless (no masses given): with y = p_ij/(p_ij + p_ik + p_jk) and z̃_i = p_ik/(p_ik + p_jk) the soft
    denominators are 1 − z̃_i(1−y) = (p_ij + p_jk)/Σ and 1 − z̃_j(1−y) = (p_ij + p_ik)/Σ, so the brackets
    reduce to ratios of invariants without the cancelling 1 − y:
    ``qg``: 2/(1 − z̃_i(1−y)) − (1 + z̃_i) = 2 p_ik/(p_ij + p_jk) + p_jk/(p_ik + p_jk);
    ``gg``: 1/(1 − z̃_i(1−y)) + 1/(1 − z̃_j(1−y)) − 2 + z̃_i z̃_j
    = p_ik/(p_ij + p_jk) + p_jk/(p_ij + p_ik) + p_ik p_jk/(p_ik + p_jk)²;
    ``qqbar``: 1 − 2 z̃_i z̃_j = 1 − 2 p_ik p_jk/(p_ik + p_jk)².
    (Fewer operations, which the exported graph evaluates for every FF dipole of every event.)

    Massive (CDST 5.16, 5.18, 5.20 spin-averaged, κ = 0; see the module docstring): ``m2_emitter`` the
    squared mass m_i² = m_ij² of a ``qg`` emitter (0 for ``gg``/``qqbar``), ``m2_spectator`` m_k², both
    GeV² and broadcastable to the invariants (per-dipole columns (k, 1)); either may be None (= 0).  With
    both 0 the result equals the massless form up to rounding.

    Parameters
    ----------
    kind : str
        ``qg``, ``gg`` or ``qqbar``.
    pij, pik, pjk : Tensor, float64
        Minkowski products p_i·p_j, p_i·p_k, p_j·p_k in GeV², any common shape.

    Returns
    -------
    Tensor, float64, the invariants' shape
        The kernel over its coupling, GeV⁻².
    """
    if m2_emitter is None and m2_spectator is None:
        q = pik + pjk
        if kind == "qg":
            bracket = 2.0 * pik / (pij + pjk) + pjk / q
        elif kind == "gg":
            bracket = pik / (pij + pjk) + pjk / (pij + pik) + pik * pjk / (q * q)
        elif kind == "qqbar":
            bracket = 1.0 - 2.0 * pik * pjk / (q * q)
        else:
            raise ValueError(f"unknown final-state splitting kind {kind!r}")
        return bracket / (2.0 * pij)
    return _ff_massive(kind, pij, pik, pjk, m2_emitter, m2_spectator) / (2.0 * pij)


def _ff_massive(
    kind: str, pij: Tensor, pik: Tensor, pjk: Tensor, mq2: Tensor | None, mk2: Tensor | None
) -> Tensor:
    """The CDST FF bracket <V_{ij,k}>/coupling with emitter mass² ``mq2`` (``qg``) and spectator mass²
    ``mk2`` (module docstring), in invariants: Σ = p_ij + p_ik + p_jk, q = p_ik + p_jk = p_k·P_ij,
    v = √(q² − m_k²(2 p_ij + m_i²))/q, ṽ = √(Σ² − m_ij² m_k²)/Σ, 1/(1 − z̃_i(1−y)) = Σ/(p_ij + p_jk)."""
    total = pij + pik + pjk
    q = pik + pjk
    zi = pik / q
    zj = pjk / q
    mq = torch.zeros_like(pij) if mq2 is None else mq2
    mk = torch.zeros_like(pij) if mk2 is None else mk2
    v = _velocity(q * q - mk * (2.0 * pij + mq), q)
    if kind == "qg":
        v_tilde = _velocity(total * total - mq * mk, total)
        return 2.0 * total / (pij + pjk) - v_tilde / v * (1.0 + zi + mq / pij)
    if kind == "gg":
        # z_+ z_- = (1 − v²)/4 for massless i, j; written with 1/(1 − z̃(1−y)) − 1 = p_ik/(p_ij + p_jk)
        zpzm = 0.25 * (1.0 - v * v)
        return pik / (pij + pjk) + pjk / (pij + pik) + 2.0 + (zi * zj - zpzm - 2.0) / v
    if kind == "qqbar":
        zpzm = 0.25 * (1.0 - v * v)
        return (1.0 - 2.0 * (zi * zj - zpzm)) / v
    raise ValueError(f"unknown final-state splitting kind {kind!r}")


def fi_dipole(kind: str, pij: Tensor, pia: Tensor, pja: Tensor, m2_emitter: Tensor | None = None) -> Tensor:
    """D^a_{ij} / coupling = <V^a_{ij}> / (coupling · ((p_i + p_j)² − m_ij²) x_{ij,a}) (CS §5.2, CDST §5.2).

    ``m2_emitter``: the squared mass m_i² = m_ij² of a ``qg`` emitter in GeV² (broadcastable; None = 0):
    x_{ij,a} and z̃_i keep their massless form (m_ij = m_i, m_j = 0) and the bracket gains −m_i²/(p_i·p_j)
    (CDST 5.50).  Arguments as :func:`ff_dipole` (p_i·p_j, p_i·p_a, p_j·p_a).
    """
    x, zi = fi_recoil(pij, pia, pja)
    # 1/(2 − z̃_i − x) and 1/(1 + z̃_i − x) with 1 − x = p_ij/(p_ia + p_ja): ratios of invariants
    q = pia + pja
    inv_i = q / (pja + pij)
    inv_j = q / (pia + pij)
    bracket = _final_bracket(kind, zi, inv_i, inv_j)
    if m2_emitter is not None:
        if kind != "qg":
            raise ValueError(f"a massive FI emitter splits as 'qg' (Q → Q g), not {kind!r}")
        bracket = bracket - m2_emitter / pij
    return bracket / (2.0 * pij * x)


def _initial_bracket(kind: str, x: Tensor, soft: Tensor, collinear: Tensor | None = None) -> Tensor:
    """Spin-averaged IF/II kernel over its coupling; ``soft`` is 1/(1−x+u_i) (IF) or 1/(1−x) (II);
    ``collinear`` the massive-spectator factor of the ``gg``/``qq`` spin-averaged collinear term (IF, CDST
    5.84, 5.86; None = 1)."""
    if kind == "qg":
        return 2.0 * soft - (1.0 + x)
    if kind == "gq":
        return 1.0 - 2.0 * x * (1.0 - x)
    coll = (1.0 - x) / x if collinear is None else (1.0 - x) / x * collinear
    if kind == "qq":
        return x + 2.0 * coll
    if kind == "gg":
        return soft - 1.0 + coll + x * (1.0 - x)
    raise ValueError(f"unknown initial-state splitting kind {kind!r}")


def if_dipole(kind: str, pai: Tensor, pak: Tensor, pik: Tensor, m2_spectator: Tensor | None = None) -> Tensor:
    """D^{ai}_k / coupling = <V^{ai}_k> / (coupling · 2 p_a·p_i x_{ik,a}) (CS §5.3, CDST §5.3).

    ``m2_spectator``: the spectator's squared mass m_k² in GeV² (broadcastable; None = 0).  x and u_i keep
    their massless form; the spin-averaged collinear terms of ``gg`` and ``qq`` ((1−x)/x, 2(1−x)/x) are
    multiplied by 1 − m_k² u_i/(2 p_i·p_k u_k) = 1 − m_k² p_a·p_i/(2 p_i·p_k p_a·p_k) (CDST 5.84, 5.86).
    Arguments: p_a·p_i, p_a·p_k, p_i·p_k.
    """
    x, _ = if_recoil(pai, pak, pik)
    # 1/(1 − x + u_i) = (p_ai + p_ak)/(p_ik + p_ai): 1 − x = p_ik/(p_ai + p_ak), u_i = p_ai/(p_ai + p_ak)
    collinear = None if m2_spectator is None else 1.0 - m2_spectator * pai / (2.0 * pik * pak)
    return _initial_bracket(kind, x, (pai + pak) / (pik + pai), collinear) / (2.0 * pai * x)


def ii_dipole(kind: str, pai: Tensor, pbi: Tensor, pab: Tensor) -> Tensor:
    """D^{ai,b} / coupling = <V^{ai,b}> / (coupling · 2 p_a·p_i x_{i,ab}) (CS §5.5).

    For ``gg`` the II soft term x/(1−x) equals 1/(1−x) − 1, which is what the shared bracket computes.
    """
    x = ii_recoil(pai, pbi, pab)
    # 1/(1 − x) = p_ab/(p_ai + p_bi)
    return _initial_bracket(kind, x, pab / (pai + pbi)) / (2.0 * pai * x)


def dipole_kernel(
    family: str,
    kind: str,
    d1: Tensor,
    d2: Tensor,
    d3: Tensor,
    m2_emitter: Tensor | None = None,
    m2_spectator: Tensor | None = None,
) -> Tensor:
    """The kernel over its coupling of a dipole family (FF, FI, IF, II) and kind, from its three invariants
    in :func:`~fame_surrogate.dipoles.invariant_pairs` order.

    ``m2_emitter`` (FF, FI) and ``m2_spectator`` (FF, IF) as in :func:`ff_dipole`, :func:`fi_dipole` and
    :func:`if_dipole`; None = massless.

    Raises
    ------
    ValueError
        For an unknown family, or masses for a family whose kernel reads none (II: initial-state partons
        are massless).
    """
    if family == "FF":
        return ff_dipole(kind, d1, d2, d3, m2_emitter, m2_spectator)
    if family == "FI" and m2_spectator is None:
        return fi_dipole(kind, d1, d2, d3, m2_emitter)
    if family == "IF" and m2_emitter is None:
        return if_dipole(kind, d1, d2, d3, m2_spectator)
    if family == "II" and m2_emitter is None and m2_spectator is None:
        return ii_dipole(kind, d1, d2, d3)
    raise ValueError(
        f"no {family} dipole kernel with emitter mass {m2_emitter is not None} and spectator mass "
        f"{m2_spectator is not None} (families FF, FI, IF, II; initial-state partons are massless)"
    )
