"""Catani–Seymour dipole basis of the factorisation-aware surrogate (SPEC §4.2, physics.md §2).

For a process in Sherpa order (incoming first) :class:`DipoleBasis` enumerates every CS dipole of
an emitted gluon or a g → q q̄ pair and evaluates, as in FAME (physics.md §2.7), the spin-averaged kernels
``D = <V> / (2 p_i·p_j [· x])`` including 8πα_s C_F, 16πα_s C_A, 8πα_s T_R, with no colour insertion and
no Born:

* final–final ``D_{ij,k}`` (CS §5.1): i, j final, k any other final-state coloured parton;
* final–initial ``D^a_{ij}`` (CS §5.2): i, j final, a a coloured incoming parton;
* initial–final ``D^{ai}_k`` (CS §5.3): a incoming, i final, k a final-state coloured parton ≠ i;
* initial–initial ``D^{ai,b}`` (CS §5.5): a incoming, i final, b the other coloured incoming parton.

Splittings (flavours in the all-outgoing convention, an incoming q counts as an outgoing q̄):
q g → q (kernel ``qg``, the quark's z), g g → g (``gg``), q q̄ → g (``qqbar``), and for the initial state with
CS's names ``qg`` (q_a → q + g_i), ``gq`` (g_a → q̄/q + q_i, P_qg), ``qq`` (q_a → g + q_i, P_gq), ``gg``.
A dipole is kept only if its Born (the process with the pair merged) exists at tree level: flavour is
conserved by construction, and a process with colourless particles (leptons, photons) needs at least one
quark in the Born (e.g. e+e- → q q̄ g has no q q̄ → g dipole: e+e- → g g does not exist).

Spin correlations: for every pair whose parent is a gluon (final g g and q q̄ pairs, initial g_a g_i and
q_a q_i), two more columns ``P cos2φ_ij / s_ij`` and ``P sin2φ_ij / s_ij`` with φ_ij the azimuth of p_i around
p⃗_i + p⃗_j (physics.md §2.6, FAME's ``calc_phi``) and P the pair's coupling (16πα_s C_A for g g, 8πα_s T_R for
final q q̄, 8πα_s C_F for initial q_a q_i).  These can be negative.  For hadron collisions φ_ij is taken in
the partonic centre-of-mass frame (a boost along z rotates the azimuth of a pair that is not transverse, and
the network's features live in that frame, rotated about z so that the first final-state particle has φ = 0
and mirrored so that the second has p_y ≥ 0), so the columns are invariant under longitudinal boosts,
rotations about the beam and mirrors p_y → −p_y.

Massive partons (Catani, Dittmaier, Seymour, Trócsányi, hep-ph/0201036, "CDST"): a process's masses come
from :func:`process_masses` (the top quark at Sherpa 3.0.3's default :data:`TOP_MASS`; every other parton
massless, as in Sherpa's default ``Massive`` flags).  A massive quark Q emits gluons (``qg`` with emitter
mass m_Q: FF and FI) and is a spectator (FF, IF); the splittings g → Q Q̄ (final pair, or an initial gluon
turning into a final Q) are not singular for m_Q > 0 and are left out.  II: no massive initial partons (tops
are not in the proton).

The kernels and recoil variables themselves (massless and CDST massive) are in
:mod:`fame_surrogate.cs_kernels`; this module lists the dipoles of a process and evaluates them all
(:class:`DipoleBasis`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from ._ops import cos_sin_2phi, gram_index, gram_rows, pair_rows, partonic_frame
from .cs_kernels import coupling, dipole_kernel

FAMILIES = ("FF", "FI", "IF", "II")

#: Sherpa 3.0.3's default top-quark mass in GeV (its start-up "Particle data" table: ``t  6  172.5``, width
#: 1.32 GeV, ``Massive 1``; a stable top needs ``PARTICLE_DATA: {6: {Width: 0}}``).  The only massive parton
#: of Sherpa's defaults: d, u, s, c, b have ``Massive 0`` in its matrix elements.
TOP_MASS = 172.5
#: |PDG| → mass in GeV of the partons that the dipoles treat as massive (:func:`process_masses`)
DEFAULT_MASSES: Mapping[int, float] = {6: TOP_MASS}


def is_quark(pdg: int) -> bool:
    """True for (anti)quarks d … t (|pdg| 1–6)."""
    return 1 <= abs(pdg) <= 6


def is_coloured(pdg: int) -> bool:
    """True for quarks, antiquarks and gluons (21)."""
    return is_quark(pdg) or pdg == 21


def coloured_beams(pdg: Sequence[int] | npt.NDArray[np.integer[Any]], n_in: int) -> bool:
    """True where an incoming particle (the first ``n_in`` of ``pdg``, PDG ids) is coloured: a hadron
    collision, whose partonic frame, features and training defaults differ from those of lepton beams."""
    return any(is_coloured(int(p)) for p in pdg[:n_in])


def process_masses(pdg: Sequence[int], masses: Mapping[int, float] | None = None) -> list[float]:
    """Per-particle masses of a process in GeV (0 for massless and colourless particles).

    Parameters
    ----------
    pdg : sequence of int
        PDG codes in Sherpa order.
    masses : mapping |PDG| → GeV, optional
        Default :data:`DEFAULT_MASSES` (the top quark at Sherpa 3.0.3's 172.5 GeV).

    Returns
    -------
    list of float
        One mass per particle.
    """
    table = DEFAULT_MASSES if masses is None else masses
    return [float(table.get(abs(int(p)), 0.0)) if is_quark(int(p)) else 0.0 for p in pdg]


def masses_from_meta(pdg: Sequence[int], meta: Mapping[str, Any]) -> list[float] | None:
    """Per-particle masses (GeV) of a process from a fame dump's ``meta["masses"]``: what Sherpa's matrix
    element used (``{"6": {"mass": 172.5, "width": ...}, ...}``, keyed by PDG id; a flavour that Sherpa
    treats as massless has mass 0), for the quarks that the dipoles can treat as massive.

    Returns None where the meta records no masses (LHE files, older dumps): then the models use
    :data:`DEFAULT_MASSES`.

    Raises
    ------
    ValueError
        Where the record lacks a flavour of ``pdg`` or a mass is not a finite number ≥ 0.
    """
    table = meta.get("masses")
    if not table:
        return None
    out: dict[int, float] = {}
    for p in dict.fromkeys(int(q) for q in pdg):
        entry = table.get(str(p))
        mass = entry.get("mass") if isinstance(entry, Mapping) else None
        if not isinstance(mass, int | float) or not math.isfinite(mass) or mass < 0:
            raise ValueError(
                f"meta['masses'] has no valid mass for PDG id {p} ({entry!r}); expected "
                "{'mass': GeV >= 0, ...} for every flavour of the process"
            )
        out[abs(p)] = float(mass)
    return process_masses(pdg, out)


def _outgoing(pdg: int, incoming: bool) -> int:
    """Flavour in the all-outgoing convention (an incoming quark becomes the antiquark)."""
    return -pdg if incoming and is_quark(pdg) else pdg


def _merge(f1: int, f2: int) -> tuple[int, str] | None:
    """Parent of two outgoing-convention flavours: (parent flavour, FF kernel kind), None if no QCD splitting.

    q g → (q, "qg"), g g → (g, "gg"), q q̄ → (g, "qqbar").
    """
    if f1 == 21 and f2 == 21:
        return 21, "gg"
    if is_quark(f1) and f2 == 21:
        return f1, "qg"
    if f1 == 21 and is_quark(f2):
        return f2, "qg"
    if is_quark(f1) and f1 == -f2:
        return 21, "qqbar"
    return None


@dataclass(frozen=True)
class Dipole:
    """One dipole: family (FF/FI/IF/II), kernel kind, emitter i, emitted j (FF/FI) or incoming a and final i
    (IF/II), and spectator k (0-based particle indices in the process order)."""

    family: str
    kind: str
    i: int
    j: int
    k: int

    @property
    def name(self) -> str:
        """Column name, e.g. ``FF_qg(2,4;3)`` = D_{24,3} with emitter 2, gluon 4, spectator 3."""
        return f"{self.family}_{self.kind}({self.i},{self.j};{self.k})"


@dataclass(frozen=True)
class PhiPair:
    """A pair with a gluon parent; its azimuth columns carry ``coupling(kind) · cos/sin 2φ_ij / s_ij``."""

    i: int
    j: int
    kind: str


def _born_exists(flavours_out: list[int], has_colourless: bool) -> bool:
    """Tree-level Born existence for Z/γ* + QCD: with colourless particles at least one quark is needed."""
    n_coloured = sum(1 for f in flavours_out if is_coloured(f))
    if n_coloured < 2:
        return False
    return not has_colourless or any(is_quark(f) for f in flavours_out)


def enumerate_dipoles(
    pdg: Sequence[int], n_in: int = 2, masses: Sequence[float] | None = None
) -> tuple[list[Dipole], list[PhiPair]]:
    """All CS dipoles and spin-correlation pairs of a process (see the module docstring).

    Parameters
    ----------
    pdg : sequence of int
        PDG codes in Sherpa order, incoming first.
    n_in : int
        Number of incoming particles (2 for collisions).
    masses : sequence of float, optional
        Per-particle masses in GeV (default :func:`process_masses`).  Splittings into a massive quark pair
        (final g → Q Q̄, initial g → Q̄ + final Q, initial Q) are not singular and are left out.

    Returns
    -------
    dipoles : list of Dipole
        In the order FF, FI, IF, II; within a family by pair, then spectator.
    phi_pairs : list of PhiPair
        Pairs with a gluon parent (final g g, final q q̄, initial g_a g_i and q_a q_i), Born permitting.
    """
    pdg = [int(p) for p in pdg]
    n = len(pdg)
    if not 0 <= n_in < n:
        raise ValueError(f"n_in={n_in} is not valid for a process with {n} particles (pdg={pdg})")
    mass = process_masses(pdg) if masses is None else [float(m) for m in masses]
    if len(mass) != n:
        raise ValueError(f"{len(mass)} masses for a process with {n} particles (pdg={pdg})")
    out = [_outgoing(p, idx < n_in) for idx, p in enumerate(pdg)]
    has_colourless = any(not is_coloured(p) for p in pdg)
    fin = [idx for idx in range(n_in, n) if is_coloured(pdg[idx])]
    ini = [idx for idx in range(n_in) if is_coloured(pdg[idx])]

    def born_ok(drop: tuple[int, int], parent: int) -> bool:
        flav = [f for idx, f in enumerate(out) if idx not in drop] + [parent]
        return _born_exists(flav, has_colourless)

    families: dict[str, list[Dipole]] = {f: [] for f in FAMILIES}
    phis: list[PhiPair] = []
    # final-state pairs: FF and FI
    for ai, i in enumerate(fin):
        for j in fin[ai + 1 :]:
            merged = _merge(out[i], out[j])
            if merged is None or not born_ok((i, j), merged[0]):
                continue
            kind = merged[1]
            if kind == "qqbar" and mass[i] > 0.0:  # g → Q Q̄: not singular for a massive Q
                continue
            emitter, emitted = (j, i) if kind == "qg" and out[i] == 21 else (i, j)
            for k in fin:
                if k not in (i, j):
                    families["FF"].append(Dipole("FF", kind, emitter, emitted, k))
            for a in ini:
                families["FI"].append(Dipole("FI", kind, emitter, emitted, a))
            if kind == "gg":
                phis.append(PhiPair(i, j, "gg"))
            elif kind == "qqbar":
                phis.append(PhiPair(i, j, "qqbar"))
    # initial-state splittings a → ~ai + i: IF and II
    for a in ini:
        for i in fin:
            merged = _merge(out[a], out[i])
            if merged is None or not born_ok((a, i), merged[0]) or mass[a] > 0.0 or mass[i] > 0.0:
                continue  # an initial g → Q̄ + final Q is not singular for a massive Q
            kind = ("gg" if pdg[i] == 21 else "gq") if pdg[a] == 21 else ("qg" if pdg[i] == 21 else "qq")
            for k in fin:
                if k != i:
                    families["IF"].append(Dipole("IF", kind, a, i, k))
            for b in ini:
                if b != a:
                    families["II"].append(Dipole("II", kind, a, i, b))
            if kind == "gg":
                phis.append(PhiPair(a, i, "gg"))
            elif kind == "qq":
                phis.append(PhiPair(a, i, "qq"))
    dipoles = [d for f in FAMILIES for d in families[f]]
    return dipoles, phis


class ProcessDipoles(NamedTuple):
    """A process as the dipole basis and the feature map read it.

    Attributes
    ----------
    pdg : list of int
        PDG ids in Sherpa order, incoming first.
    masses : list of float
        Per-particle masses in GeV.
    dipoles, phis : list of Dipole, list of PhiPair
        :func:`enumerate_dipoles` of the process.
    """

    pdg: list[int]
    masses: list[float]
    dipoles: list[Dipole]
    phis: list[PhiPair]


def process_dipoles(
    pdg: Sequence[int], n_in: int = 2, masses: Sequence[float] | None = None
) -> ProcessDipoles:
    """The PDG ids, the masses (``masses``, default :func:`process_masses`) and the dipoles of a process."""
    ids = [int(p) for p in pdg]
    mass = process_masses(ids) if masses is None else [float(m) for m in masses]
    dipoles, phis = enumerate_dipoles(ids, int(n_in), mass)
    return ProcessDipoles(ids, mass, dipoles, phis)


def invariant_pairs(d: Dipole) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """The three index pairs whose dot products a dipole needs, in its kernel's argument order."""
    if d.family in ("FF", "FI"):
        return (d.i, d.j), (d.i, d.k), (d.j, d.k)
    if d.family == "IF":  # (a, i), (a, k), (i, k)
        return (d.i, d.j), (d.i, d.k), (d.j, d.k)
    # II: (a, i), (b, i), (a, b)
    return (d.i, d.j), (d.k, d.j), (d.i, d.k)


def dipole_pairs(dipoles: Sequence[Dipole]) -> set[tuple[int, int]]:
    """The unordered pairs, as (i < j), of the three invariants of every dipole."""
    return {(min(a, b), max(a, b)) for d in dipoles for a, b in invariant_pairs(d)}


def dipole_masses(d: Dipole, masses: Sequence[float]) -> tuple[float, float]:
    """(emitter mass m_ij, spectator mass m_k) in GeV that a dipole's kernel reads: the emitter's for a
    final ``qg`` (Q → Q g), 0 otherwise (gluon parents, massless initial partons); the spectator's for FF
    and for the IF kernels that depend on it (``gg``, ``qq``; initial spectators are massless)."""
    emitter = masses[d.i] if d.family in ("FF", "FI") and d.kind == "qg" else 0.0
    reads_spectator = d.family == "FF" or (d.family == "IF" and d.kind in ("gg", "qq"))
    spectator = masses[d.k] if reads_spectator else 0.0
    return float(emitter), float(spectator)


def basis_pairs(
    pdg: Sequence[int], n_in: int = 2, masses: Sequence[float] | None = None
) -> list[tuple[int, int]]:
    """The pairs (i < j) whose Minkowski products :class:`DipoleBasis` reads, sorted: the three invariants of
    every dipole and the pair of every spin-correlation term."""
    dipoles, phis = enumerate_dipoles(pdg, n_in, masses)
    return sorted(dipole_pairs(dipoles) | {(min(p.i, p.j), max(p.i, p.j)) for p in phis})


class DipoleBasis(torch.nn.Module):
    """All CS dipoles (massless and CDST massive) and spin-correlation terms of a process, vectorised over
    events.

    Parameters
    ----------
    pdg : sequence of int
        PDG codes in Sherpa order, incoming first (e.g. ``[11, -11, 21, 21, 1, -1]``).
    n_in : int
        Number of incoming particles.
    alpha_s : float
        Strong coupling in the kernels (FAME: 0.118).
    pairs : sequence of (int, int), optional
        Row layout of the ``rows`` passed to :meth:`forward`, ``gram_rows(momenta, gram_index(pairs))``;
        default :func:`basis_pairs`.  A model sharing one Gram computation with its feature map passes the
        union.
    masses : sequence of float, optional
        Per-particle masses in GeV (default :func:`process_masses`: the top quark at :data:`TOP_MASS`).
        The momenta passed to :meth:`forward` must be on these mass shells.

    Attributes
    ----------
    pairs : list of (int, int)
        The row layout of ``rows``.
    masses : list of float
        Per-particle masses in GeV.
    massive : bool
        Whether any dipole reads a mass (those are evaluated with the CDST kernels).
    n_dipoles : int
        Number of dipole columns (positive-definite D_k).
    n_phi : int
        Number of spin-correlation pairs; they add ``2 * n_phi`` columns (all cos terms, then all sin terms).
    names : list of str
        One name per output column.
    dipoles : list of Dipole
        The dipole descriptions in column order.
    phi_pairs : list of PhiPair
        The spin-correlation pairs in column order.
    """

    _phi_i: Tensor
    _phi_j: Tensor
    _phi_ij: Tensor
    _phi_coupling: Tensor
    _gram_idx: Tensor

    def __init__(
        self,
        pdg: Sequence[int],
        n_in: int = 2,
        alpha_s: float = 0.118,
        pairs: Sequence[tuple[int, int]] | None = None,
        masses: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.pdg, self.masses, dipoles, phis = process_dipoles(pdg, n_in, masses)
        self.n_in = int(n_in)
        self.alpha_s = float(alpha_s)
        self.n_particles = len(self.pdg)
        self.pairs = list(pairs) if pairs is not None else basis_pairs(self.pdg, self.n_in, self.masses)
        self.register_buffer("_gram_idx", gram_index(self.pairs), persistent=False)
        if not dipoles:
            raise ValueError(
                f"process pdg={self.pdg} (n_in={self.n_in}) has no QCD dipole: need ≥ 1 final-state gluon or "
                "g→qq̄ pair with a tree-level Born"
            )
        # group by (family, kind, massive): one gather + one kernel evaluation per group; a massive group
        # carries its dipoles' squared masses as (k, 1) float64 columns
        self._groups: list[tuple[str, str, bool]] = []
        ordered: list[Dipole] = []
        for fam in FAMILIES:
            for kind in ("qg", "gg", "qqbar", "gq", "qq"):
                for massive in (False, True):
                    members = [
                        d
                        for d in dipoles
                        if d.family == fam
                        and d.kind == kind
                        and (max(dipole_masses(d, self.masses)) > 0.0) == massive
                    ]
                    if members:
                        self._add_group(fam, kind, massive, members)
                        ordered.extend(members)
        self.massive = any(g[2] for g in self._groups)
        self.dipoles = ordered
        self.phi_pairs = phis
        self.n_dipoles = len(ordered)
        self.n_phi = len(phis)
        # rows 4·i + c of the (4n, B) transposed momenta, component-major: (4, n_phi, B) after a reshape
        for name, ends in (("_phi_i", [p.i for p in phis]), ("_phi_j", [p.j for p in phis])):
            rows = [4 * i + c for c in range(4) for i in ends]
            self.register_buffer(name, torch.tensor(rows, dtype=torch.int64), persistent=False)
        self.register_buffer(
            "_phi_ij",
            torch.tensor(pair_rows(self.pairs, [(p.i, p.j) for p in phis]), dtype=torch.int64),
            persistent=False,
        )
        self.register_buffer(
            "_phi_coupling",
            torch.tensor([coupling(p.kind, self.alpha_s) for p in phis], dtype=torch.float64),
            persistent=False,
        )
        self.hadronic = coloured_beams(self.pdg, self.n_in)
        self.names = [d.name for d in ordered]
        self.names += [f"cos2phi_{p.kind}({p.i},{p.j})" for p in phis]
        self.names += [f"sin2phi_{p.kind}({p.i},{p.j})" for p in phis]

    def _add_group(self, fam: str, kind: str, massive: bool, members: list[Dipole]) -> None:
        """Register the gather index, coupling (and for a massive group the squared masses) of one group."""
        g = len(self._groups)
        where = [pair_rows(self.pairs, invariant_pairs(d)) for d in members]
        self.register_buffer(
            f"_idx{g}", torch.tensor(where, dtype=torch.int64).T.contiguous(), persistent=False
        )
        # couplings as float64 buffers: the dynamo exporter would store Python floats as float32
        self.register_buffer(
            f"_coup{g}", torch.tensor(coupling(kind, self.alpha_s), dtype=torch.float64), persistent=False
        )
        if massive:
            m = torch.tensor([dipole_masses(d, self.masses) for d in members], dtype=torch.float64)
            self.register_buffer(f"_m2e{g}", (m[:, 0:1] ** 2).contiguous(), persistent=False)
            self.register_buffer(f"_m2s{g}", (m[:, 1:2] ** 2).contiguous(), persistent=False)
        self._groups.append((fam, kind, massive))

    def _kernel(self, g: int, d1: Tensor, d2: Tensor, d3: Tensor) -> Tensor:
        """Group ``g``'s kernels over their coupling, (k, B), from its three invariant rows (k, B) each."""
        fam, kind, massive = self._groups[g]
        if not massive:
            return dipole_kernel(fam, kind, d1, d2, d3)
        # FI reads the emitter's mass only, IF the spectator's (initial-state partons are massless)
        m2e: Tensor | None = None if fam == "IF" else getattr(self, f"_m2e{g}")
        m2s: Tensor | None = None if fam == "FI" else getattr(self, f"_m2s{g}")
        return dipole_kernel(fam, kind, d1, d2, d3, m2e, m2s)

    @property
    def n_outputs(self) -> int:
        """Total number of columns, ``n_dipoles + 2 * n_phi``."""
        return self.n_dipoles + 2 * self.n_phi

    def forward(self, momenta: Tensor, rows: Tensor | None = None) -> Tensor:
        """Evaluate the basis.

        Parameters
        ----------
        momenta : Tensor, float64, shape (B, n, 4)
            (E, px, py, pz) in GeV in the process order, incoming first with their physical momenta.
        rows : Tensor, float64, shape (len(pairs), B), optional
            ``gram_rows(momenta, gram_index(self.pairs))`` if the caller has it (computed otherwise).

        Returns
        -------
        Tensor, float64, shape (B, n_dipoles + 2 * n_phi)
            Dipoles D_k in GeV⁻² (order of :attr:`names`), then the cos 2φ and the sin 2φ columns.
        """
        if rows is None:
            rows = gram_rows(momenta, self._gram_idx)
        # pair-major (k, B) throughout: row gathers are cheap in ONNX Runtime; one transpose at the end
        cols: list[Tensor] = []
        for g in range(len(self._groups)):
            idx: Tensor = getattr(self, f"_idx{g}")
            d1 = torch.index_select(rows, 0, idx[0])
            d2 = torch.index_select(rows, 0, idx[1])
            d3 = torch.index_select(rows, 0, idx[2])
            coup: Tensor = getattr(self, f"_coup{g}")
            cols.append(self._kernel(g, d1, d2, d3) * coup)
        if self.n_phi:
            # φ in the canonical frame for hadron collisions (the features' frame): a boost along z would
            # otherwise rotate the azimuth of a pair that is not transverse, and a rotation about z the
            # reference direction
            frame = partonic_frame(momenta, self.n_in, self.n_particles) if self.hadronic else momenta
            flat = frame.reshape(-1, 4 * self.n_particles).transpose(0, 1)  # (4n, B), as in gram_rows
            p_i = torch.index_select(flat, 0, self._phi_i).reshape(4, self.n_phi, -1)
            p_j = torch.index_select(flat, 0, self._phi_j).reshape(4, self.n_phi, -1)
            cos2, sin2 = cos_sin_2phi(p_i, p_j, dim=0)
            scale = self._phi_coupling[:, None] / (2.0 * torch.index_select(rows, 0, self._phi_ij))
            cols += [cos2 * scale, sin2 * scale]
        return torch.cat(cols, dim=0).transpose(0, 1)
