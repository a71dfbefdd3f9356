"""Massless RAMBO phase space and the global s_ij cut (SPEC §4.3, reference/physics.md §3.1).

Momenta are float64 numpy arrays ``(N, n, 4)`` as (E, px, py, pz) in GeV.  For e+e- the incoming beams sit at
indices 0 (e-, along +z) and 1 (e+, along -z), as in the Sherpa reference dumps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lhe_tools.fourvec import mdot, msq

F8 = npt.NDArray[np.float64]


def rambo_weight(n_out: int, sqrt_s: float) -> float:
    """Constant RAMBO weight W_n = (2π)^(4-3n) (π/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!).

    Parameters
    ----------
    n_out : int
        Number of massless final-state particles (≥ 2).
    sqrt_s : float
        Centre-of-mass energy in GeV.

    Returns
    -------
    float
        The phase-space volume element weight in GeV^(2n-4) (Sherpa's Rambo convention).
    """
    if n_out < 2:
        raise ValueError(f"RAMBO needs at least 2 final-state particles, got {n_out}")
    s = sqrt_s * sqrt_s
    return float(
        (2 * math.pi) ** (4 - 3 * n_out)
        * (math.pi / 2) ** (n_out - 1)
        * s ** (n_out - 2)
        / (math.factorial(n_out - 1) * math.factorial(n_out - 2))
    )


def rambo(n_out: int, sqrt_s: float, n_events: int, rng: np.random.Generator) -> F8:
    """Flat massless n-body phase space in the centre-of-mass frame (Kleiss–Stirling–Ellis).

    Parameters
    ----------
    n_out : int
        Number of final-state particles.
    sqrt_s : float
        Centre-of-mass energy in GeV.
    n_events : int
        Number of points.
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducibility).

    Returns
    -------
    ndarray, float64, shape (n_events, n_out, 4)
        Final-state momenta summing to (sqrt_s, 0, 0, 0); every point has weight :func:`rambo_weight`.
    """
    r = rng.random((n_events, n_out, 4))
    c = 2.0 * r[..., 0] - 1.0
    phi = 2.0 * math.pi * r[..., 1]
    q0 = -np.log(r[..., 2] * r[..., 3])
    st = np.sqrt(np.clip(1.0 - c * c, 0.0, None))
    q = np.stack([q0, q0 * st * np.cos(phi), q0 * st * np.sin(phi), q0 * c], axis=-1)
    qsum = q.sum(axis=1)
    mass = np.sqrt(msq(qsum))
    b = -qsum[:, 1:] / mass[:, None]
    gamma = qsum[:, 0] / mass
    a = 1.0 / (1.0 + gamma)
    x = sqrt_s / mass
    bq = np.einsum("ek,eik->ei", b, q[..., 1:])
    p0 = x[:, None] * (gamma[:, None] * q[..., 0] + bq)
    pvec = x[:, None, None] * (
        q[..., 1:] + b[:, None, :] * q[..., 0:1] + (a[:, None] * bq)[..., None] * b[:, None, :]
    )
    return np.concatenate([p0[..., None], pvec], axis=-1)


def ee_beams(sqrt_s: float, n_events: int) -> F8:
    """Incoming e- (+z) and e+ (-z) momenta, shape (n_events, 2, 4), GeV."""
    e = sqrt_s / 2.0
    beams = np.array([[e, 0.0, 0.0, e], [e, 0.0, 0.0, -e]])
    return np.broadcast_to(beams, (n_events, 2, 4)).copy()


def min_sij_over_s(final: F8, sqrt_s: float) -> F8:
    """min over final-state pairs of s_ij / s, with s_ij = 2 p_i·p_j; shape (N,)."""
    n = final.shape[1]
    best = np.full(final.shape[0], np.inf)
    for i in range(n):
        for j in range(i + 1, n):
            best = np.minimum(best, 2.0 * mdot(final[:, i], final[:, j]))
    return np.asarray(best / (sqrt_s * sqrt_s))


def pass_ycut(final: F8, sqrt_s: float, y_cut: float) -> npt.NDArray[np.bool_]:
    """True where every final-state pair has s_ij > y_cut · s; shape (N,)."""
    return np.asarray(min_sij_over_s(final, sqrt_s) > y_cut)


@dataclass(frozen=True)
class EEPhaseSpace:
    """RAMBO for e+e- at fixed sqrt_s with the global cut s_ij > y_cut·s on all final-state pairs.

    Parameters
    ----------
    n_out : int
        Final-state multiplicity.
    sqrt_s : float
        Centre-of-mass energy, GeV.
    y_cut : float
        Global cut on s_ij / s.
    """

    n_out: int
    sqrt_s: float = 1000.0
    y_cut: float = 0.01

    @property
    def weight(self) -> float:
        """The constant RAMBO weight of every point (GeV^(2n-4))."""
        return rambo_weight(self.n_out, self.sqrt_s)

    @property
    def max_y_cut(self) -> float:
        """The largest feasible y_cut: n massless partons have Σ_{i<j} s_ij = s, so min s_ij ≤ s / C(n, 2)."""
        pairs = self.n_out * (self.n_out - 1) // 2
        return 1.0 / pairs if pairs else math.inf

    def generate(
        self, n_points: int, rng: np.random.Generator, *, max_draws: int | None = None
    ) -> tuple[F8, int]:
        """Exactly ``n_points`` points that pass the cut.

        Parameters
        ----------
        n_points : int
            Points wanted.
        rng : numpy.random.Generator
            Random numbers.
        max_draws : int, optional
            Give up after this many RAMBO points (default ``max(10**7, 10**4 * n_points)``: a cut
            efficiency below 1e-4 is treated as a mistake).

        Returns
        -------
        momenta : ndarray, float64, shape (n_points, 2 + n_out, 4)
            Beams first (e-, e+), then the final state.
        n_generated : int
            RAMBO points drawn to get them (the cut efficiency is ``n_points / n_generated``).

        Raises
        ------
        ValueError
            ``y_cut`` is infeasible (no massless configuration passes it), or fewer than ``n_points`` passed
            within ``max_draws`` draws.
        """
        if self.y_cut >= self.max_y_cut:
            raise ValueError(
                f"y_cut = {self.y_cut:g} cannot be passed by {self.n_out} massless partons: the smallest of "
                f"the {self.n_out * (self.n_out - 1) // 2} pair invariants s_ij/s is at most "
                f"1/{self.n_out * (self.n_out - 1) // 2} = {self.max_y_cut:.6g}; choose a smaller y_cut"
            )
        limit = max(10**7, 10**4 * n_points) if max_draws is None else max_draws
        chunks: list[F8] = []
        have = 0
        n_generated = 0
        while have < n_points:
            if n_generated >= limit:
                raise ValueError(
                    f"only {have} of {n_points} points passed y_cut = {self.y_cut:g} in {n_generated} RAMBO "
                    f"draws (efficiency {have / n_generated:.3g}; the largest feasible y_cut for "
                    f"{self.n_out} partons is {self.max_y_cut:.6g}); choose a smaller y_cut"
                )
            want = max(1024, int(1.3 * (n_points - have)))  # unchanged: the same seed gives the same points
            final = rambo(self.n_out, self.sqrt_s, want, rng)
            n_generated += want
            keep = final[pass_ycut(final, self.sqrt_s, self.y_cut)]
            chunks.append(keep)
            have += len(keep)
        final = np.concatenate(chunks)
        # points beyond n_points were drawn but are dropped: count only what the kept ones cost
        total_kept = len(final)
        final = final[:n_points]
        n_generated = round(n_generated * n_points / total_kept) if total_kept else n_generated
        mom = np.concatenate([ee_beams(self.sqrt_s, n_points), final], axis=1)
        return mom, n_generated
