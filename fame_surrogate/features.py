"""Raw network inputs of the factorisation-aware surrogate (SPEC §4.2); standardisation is the model's job.

Columns, in order:

1. the final-state momenta (E, px, py, pz of every final-state particle, flattened), divided by √ŝ of the
   event (ŝ = (Σ p_in)², so e+e- and boosted hadronic events look alike); for hadron collisions they are first
   put into the canonical frame of :func:`~fame_surrogate._ops.partonic_frame` (|M|² depends on none of its
   boost along z, rotation about z and mirror p_y → −p_y; the mirror halves the space the network must
   learn, and cut the held-out loss by 31% at Z+4 jets, examples/zjets/README.md);
2. for every FF dipole of :class:`~fame_surrogate.dipoles.DipoleBasis`, log y_{ij,k};
   for every FI / IF / II dipole, log((1 − x)/x) (→ −∞ in the singular limit like log y; FAME feeds x/(1−x));
3. for hadron collisions (a coloured incoming parton), log(|s_ij| / ŝ) for every pair except the two beams
   (final–final and initial–final: the t-channel propagators);
4. log(ŝ / GeV²): the absolute scale, which carries the dimension of |M|² (the dipole model's linear skip
   reads it) and matters in hadron collisions (a Z resonance sits at a fixed mass, not at a fixed fraction
   of ŝ); a constant for e+e- at fixed √s;
5. for massive final-state particles (the top quark, :func:`~fame_surrogate.dipoles.process_masses`):
   log(γ_i − 1) of each, γ_i = p_i·P_in/(m_i √ŝ) its Lorentz factor in the partonic frame (−∞ for a top at
   rest), and log(p_i·p_j/(m_i m_j) − 1) of each massive pair (their relative Lorentz factor: 0 at the
   tt̄ threshold).  The recoil variables of columns 2 are those of the massive kinematics (CDST: y_{ij,k} and
   x_{ij,a} keep their massless form for Q → Q g and for massive spectators), and the invariants of
   columns 3 are p_i·p_j (2 p_Q·p_g = (p_Q + p_g)² − m_Q² is the propagator), not s_ij;
6. with ``antenna``, for hadron collisions with one quark line
   (:func:`~fame_surrogate.antenna.antenna_chains`), log(A ŝ^(k+1)) of the antenna chain
   A = Σ_σ Π 1/|s_ab| over the orderings of the k gluons
   (:class:`~fame_surrogate.antenna.AntennaColumn`, a function of the columns 3).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._ops import gram_index, gram_rows, incoming_sum, pair_rows, partonic_frame
from .antenna import AntennaColumn, antenna_chains
from .cs_kernels import ff_recoil, fi_recoil, if_recoil, ii_recoil
from .dipoles import coloured_beams, dipole_pairs, invariant_pairs, process_dipoles

#: Floor applied before the logarithms (only reached for degenerate kinematics, e.g. x ≥ 1 by rounding);
#: representable in float32 (see ``_ops``).
_LOG_FLOOR = 1e-30


def _beamless_pairs(pdg: Sequence[int], n_in: int) -> list[tuple[int, int]]:
    """For hadron collisions (a coloured incoming parton) every pair (i < j) but the two beams: the
    final–final and initial–final invariants whose log(|s_ij|/ŝ) are features; none otherwise."""
    if not coloured_beams(pdg, n_in):
        return []
    n = len(pdg)
    return [(i, j) for i in range(n) for j in range(max(i + 1, n_in), n)]


def _massive_final(masses: Sequence[float], n_in: int) -> list[int]:
    """Indices of the massive final-state particles."""
    return [i for i in range(n_in, len(masses)) if masses[i] > 0.0]


def _massive_pairs(masses: Sequence[float], n_in: int) -> list[tuple[int, int]]:
    """The Gram pairs of the massive-particle columns: (a, i) for every incoming a and massive final i
    (p_i·P_in), and every pair of massive final-state particles."""
    heavy = _massive_final(masses, n_in)
    pairs = [(a, i) for i in heavy for a in range(n_in)]
    return pairs + [(i, j) for ai, i in enumerate(heavy) for j in heavy[ai + 1 :]]


def feature_pairs(
    pdg: Sequence[int], n_in: int = 2, masses: Sequence[float] | None = None
) -> list[tuple[int, int]]:
    """The pairs (i < j) whose Minkowski products :class:`FeatureMap` reads, sorted.

    The three invariants of every dipole's recoil variable, for hadron collisions every pair but the two
    beams, and for massive final-state particles their products with the incoming particles and with each
    other (``masses``: per particle in GeV, default :func:`~fame_surrogate.dipoles.process_masses`).
    """
    pdg, mass, dipoles, _ = process_dipoles(pdg, n_in, masses)
    return sorted(dipole_pairs(dipoles) | set(_beamless_pairs(pdg, n_in)) | set(_massive_pairs(mass, n_in)))


class FeatureMap(torch.nn.Module):
    """Momenta → raw features (no trainable parameters).

    Parameters
    ----------
    pdg : sequence of int
        PDG codes in Sherpa order, incoming first.
    n_in : int
        Number of incoming particles.
    pairs : sequence of (int, int), optional
        Row layout of the ``rows`` passed to :meth:`forward`, ``gram_rows(momenta, gram_index(pairs))``;
        default :func:`feature_pairs`.  A model sharing one Gram computation with its dipole basis passes
        the union.
    masses : sequence of float, optional
        Per-particle masses in GeV (default :func:`~fame_surrogate.dipoles.process_masses`); the momenta
        must be on these mass shells.
    antenna : bool
        Add the antenna-chain column (6 above) where the process has one quark line; no effect otherwise.

    Attributes
    ----------
    pairs : list of (int, int)
        The row layout of ``rows``.
    n_features : int
        Number of output columns.
    names : list of str
        One name per column: ``p{idx}_{E,x,y,z}``, ``logy_…``/``logx_…`` with the dipole name,
        ``logsij(i,j)``, ``log_shat``, ``loggamma(i)``, ``loggamma(i,j)``, ``log_antenna``.
    massive : bool
        Whether the process has massive final-state particles (and hence the columns 5).
    log_columns : list of int
        Indices of the logarithmic columns (all but the momenta).
    antenna : AntennaColumn or None
        The antenna-chain column's module, None where the map has no such column.
    """

    _sij_idx: Tensor
    _gram_idx: Tensor

    _heavy_in: Tensor
    _heavy_pair: Tensor
    _heavy_mass: Tensor
    _heavy_pair_mass: Tensor

    def __init__(
        self,
        pdg: Sequence[int],
        n_in: int = 2,
        pairs: Sequence[tuple[int, int]] | None = None,
        masses: Sequence[float] | None = None,
        antenna: bool = False,
    ) -> None:
        super().__init__()
        if n_in < 1:
            raise ValueError(f"FeatureMap needs incoming particles to define ŝ; got n_in={n_in}")
        self.pdg, self.masses, dipoles, _ = process_dipoles(pdg, n_in, masses)
        self.n_in = int(n_in)
        n = len(self.pdg)
        self.n_particles = n
        self.pairs = list(pairs) if pairs is not None else feature_pairs(self.pdg, self.n_in, self.masses)
        self.register_buffer("_gram_idx", gram_index(self.pairs), persistent=False)
        self.hadronic = coloured_beams(self.pdg, self.n_in)
        self._families: list[str] = []
        names = [f"p{i}_{c}" for i in range(n_in, n) for c in "Exyz"]
        for fam in ("FF", "FI", "IF", "II"):
            members = [d for d in dipoles if d.family == fam]
            if not members:
                continue
            where = [pair_rows(self.pairs, invariant_pairs(d)) for d in members]
            flat = torch.tensor(where, dtype=torch.int64).T.contiguous()
            self.register_buffer(f"_idx_{fam}", flat, persistent=False)
            self._families.append(fam)
            prefix = "logy" if fam == "FF" else "logx"
            names += [f"{prefix}_{d.name}" for d in members]
        fin_pairs = _beamless_pairs(self.pdg, self.n_in)
        self.register_buffer(
            "_sij_idx", torch.tensor(pair_rows(self.pairs, fin_pairs), dtype=torch.int64), persistent=False
        )
        names += [f"logsij({i},{j})" for i, j in fin_pairs]
        names.append("log_shat")
        heavy = _massive_final(self.masses, self.n_in)
        heavy_pairs = _massive_pairs(self.masses, self.n_in)[len(heavy) * self.n_in :]
        self.massive = bool(heavy)
        # rows of p_i·p_a (a incoming; (n_in, n_heavy) flattened a-major) and of the massive pairs
        in_rows = pair_rows(self.pairs, [(a, i) for a in range(self.n_in) for i in heavy])
        self.register_buffer("_heavy_in", torch.tensor(in_rows, dtype=torch.int64), persistent=False)
        self.register_buffer(
            "_heavy_pair",
            torch.tensor(pair_rows(self.pairs, heavy_pairs), dtype=torch.int64),
            persistent=False,
        )
        self.register_buffer(
            "_heavy_mass",
            torch.tensor([[self.masses[i]] for i in heavy], dtype=torch.float64).reshape(-1, 1),
            persistent=False,
        )
        self.register_buffer(
            "_heavy_pair_mass",
            torch.tensor(
                [[self.masses[i] * self.masses[j]] for i, j in heavy_pairs], dtype=torch.float64
            ).reshape(-1, 1),
            persistent=False,
        )
        names += [f"loggamma({i})" for i in heavy]
        names += [f"loggamma({i},{j})" for i, j in heavy_pairs]
        chains = antenna_chains(self.pdg, self.n_in) if antenna and not self.massive else []
        self.antenna = AntennaColumn(chains, fin_pairs) if chains else None
        if self.antenna is not None:
            names.append("log_antenna")
        self.names = names
        self.n_features = len(names)
        #: the logarithmic columns (every column after the momenta): the log-invariant features that the
        #: dipole model's linear skip reads
        self.log_columns = list(range(4 * (n - n_in), len(names)))

    def forward(
        self, momenta: Tensor, rows: Tensor | None = None, dtype: torch.dtype = torch.float64
    ) -> Tensor:
        """Compute the raw features.

        Parameters
        ----------
        momenta : Tensor, float64, shape (B, n, 4)
            (E, px, py, pz) in GeV, process order, incoming first.
        rows : Tensor, float64, shape (len(pairs), B), optional
            ``gram_rows(momenta, gram_index(self.pairs))`` if the caller has it (computed otherwise).
        dtype : torch.dtype
            dtype of the result.  ``torch.float32`` (for a float32 network, which reads nothing finer) rounds
            the float64 momentum ratios and logarithm arguments once and takes the logarithms in float32,
            which ONNX Runtime vectorises (its float64 Log is scalar, ≈ 7 ns a value).

        Returns
        -------
        Tensor, shape (B, n_features), ``dtype``
        """
        n = self.n_particles
        if rows is None:
            rows = gram_rows(momenta, self._gram_idx)
        p_in = incoming_sum(momenta, self.n_in)
        shat = p_in[:, :1] * p_in[:, :1] - torch.sum(p_in[:, 1:] * p_in[:, 1:], dim=1, keepdim=True)
        root_shat = torch.sqrt(shat)
        final = momenta[:, self.n_in :, :].reshape(-1, (n - self.n_in) * 4)
        # the invariant-based columns are computed pair-major, (k, B): row gathers are cheap in ONNX Runtime
        inv: list[Tensor] = []
        for fam in self._families:
            idx: Tensor = getattr(self, f"_idx_{fam}")
            d1 = torch.index_select(rows, 0, idx[0])
            d2 = torch.index_select(rows, 0, idx[1])
            d3 = torch.index_select(rows, 0, idx[2])
            if fam == "FF":
                arg = ff_recoil(d1, d2, d3)[0]
            else:
                if fam == "FI":
                    x = fi_recoil(d1, d2, d3)[0]
                elif fam == "IF":
                    x = if_recoil(d1, d2, d3)[0]
                else:
                    x = ii_recoil(d1, d2, d3)
                arg = torch.clamp(1.0 - x, min=_LOG_FLOOR) / torch.clamp(x, min=_LOG_FLOOR)
            inv.append(torch.log(torch.clamp(arg.to(dtype), min=_LOG_FLOOR)))
        log_sij = None
        if self.hadronic:
            sij = 2.0 * torch.index_select(rows, 0, self._sij_idx)
            log_sij = torch.log(torch.clamp((sij / shat.reshape(1, -1)).to(dtype), min=_LOG_FLOOR))
            inv.append(log_sij)
        inv.append(torch.log(shat.reshape(1, -1).to(dtype)))
        if self.massive:
            # γ_i − 1 = p_i·P_in/(m_i √ŝ) − 1 and p_i·p_j/(m_i m_j) − 1, floored before the logarithm
            n_heavy = self._heavy_mass.shape[0]
            dots = torch.index_select(rows, 0, self._heavy_in)
            p_in = dots[:n_heavy]
            for a in range(1, self.n_in):
                p_in = p_in + dots[a * n_heavy : (a + 1) * n_heavy]
            gamma = p_in / (self._heavy_mass * root_shat.reshape(1, -1)) - 1.0
            inv.append(torch.log(torch.clamp(gamma, min=_LOG_FLOOR).to(dtype)))
            if self._heavy_pair.numel():
                rel = torch.index_select(rows, 0, self._heavy_pair) / self._heavy_pair_mass - 1.0
                inv.append(torch.log(torch.clamp(rel, min=_LOG_FLOOR).to(dtype)))
        if self.antenna is not None and log_sij is not None:
            inv.append(self.antenna(log_sij))
        if self.hadronic:
            # the canonical frame: partonic rest frame, first final-state particle at φ = 0, second at p_y ≥ 0
            boosted = partonic_frame(momenta, self.n_in, n)
            final = boosted[:, self.n_in :, :].reshape(-1, (n - self.n_in) * 4)
        cols = [(final / root_shat).to(dtype)]
        if inv:
            cols.append(torch.cat(inv, dim=0).transpose(0, 1))
        return torch.cat(cols, dim=1)
