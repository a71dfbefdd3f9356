"""Full-colour, helicity-summed |M|^2 for e+e- -> gamma*/Z -> q qbar + n g (n <= 3) and q qbar Q Qbar (+ g).

Normalisation of Sherpa's MEProcess (shared/data/sherpa-ee/README.md): (1/4) spin average of the beams,
summed over final-state helicities and colours, divided by prod_f n_f! of identical final-state particles,
couplings included (e^2 = 4 pi alpha, g_s^2 = 4 pi alpha_s).

Amplitudes (reference/physics.md §1.2-1.5): colour-ordered Berends-Giele recursion along the quark line(s);
helicities are summed with broadcasting over one axis per gluon (two real linear polarisations) and one axis
for the lepton chirality; quark-line chiralities in a loop (one line: only the left-handed line, the other
follows by parity); colour by the colour matrices of :mod:`.colour`.  Two quark lines: the line that does
not carry the boson (or the gluon) enters as an off-shell gluon current of the other; the identical-flavour
exchange term (qbar <-> Qbar) enters with a relative minus sign.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lhe_tools.fourvec import mdot, msq

from .berends_giele import GluonCurrents, LineMemo, Row, line_current, quark_line
from .colour import (
    four_quark_colour_matrix,
    four_quark_gluon_colour_matrix,
    one_line_colour_matrix,
    orderings,
)
from .couplings import EWParams, boson_couplings
from .wavefunctions import lepton_currents, linear_polarisations, weyl_spinors

__all__ = ["Process", "UnsupportedProcessError", "classify", "matrix_element", "supports"]

F8 = npt.NDArray[np.float64]
AnyArr = npt.NDArray[Any]

_QUARKS = (1, 2, 3, 4, 5)


class UnsupportedProcessError(ValueError):
    """The built-in ME cannot evaluate this particle content."""


@dataclass(frozen=True)
class Process:
    """Index bookkeeping of a supported process.

    Attributes
    ----------
    e_minus, e_plus : int
        Positions of the incoming e- and e+.
    gluons : tuple of int
        Positions of the final-state gluons.
    pairs : tuple of (int, int, int)
        (quark position, antiquark position, flavour) per quark line; for identical flavours the pairing
        with the lower antiquark position first.
    identical : bool
        Two quark lines of the same flavour (exchange term needed).
    symmetry : int
        prod_f n_f! of identical final-state particles.
    """

    e_minus: int
    e_plus: int
    gluons: tuple[int, ...]
    pairs: tuple[tuple[int, int, int], ...]
    identical: bool
    symmetry: int


def classify(pdg: Sequence[int]) -> Process:
    """Map a PDG list (incoming e-, e+ first, final state in any order) to a :class:`Process`.

    Raises
    ------
    UnsupportedProcessError
        For anything other than e+e- -> q qbar + n g (n <= 3) or q qbar Q Qbar (+ g), q in d, u, s, c, b.
    """
    ids = [int(x) for x in pdg]
    where = f"process with pdg {ids}"
    if len(ids) < 4 or sorted(ids[:2]) != [-11, 11]:
        raise UnsupportedProcessError(f"{where}: expected incoming e- e+ (11, -11) first, found {ids[:2]}")
    final = ids[2:]
    gluons = tuple(2 + i for i, x in enumerate(final) if x == 21)
    quarks = [(2 + i, x) for i, x in enumerate(final) if x in _QUARKS]
    antis = [(2 + i, -x) for i, x in enumerate(final) if -x in _QUARKS]
    other = [x for x in final if x != 21 and abs(x) not in _QUARKS]
    if other:
        raise UnsupportedProcessError(
            f"{where}: final-state particles {other} are not gluons or light quarks"
        )
    if sorted(f for _, f in quarks) != sorted(f for _, f in antis):
        raise UnsupportedProcessError(f"{where}: quark and antiquark flavours do not pair up")
    nq = len(quarks)
    if nq == 1 and len(gluons) > 3:
        raise UnsupportedProcessError(f"{where}: at most 3 gluons with one quark pair, found {len(gluons)}")
    if nq == 2 and len(gluons) > 1:
        raise UnsupportedProcessError(f"{where}: at most 1 gluon with two quark pairs, found {len(gluons)}")
    if nq not in (1, 2):
        raise UnsupportedProcessError(f"{where}: one or two quark pairs are supported, found {nq}")
    pairs: list[tuple[int, int, int]] = []
    used: set[int] = set()
    for pos, flav in quarks:
        anti = next(a for a, f in antis if f == flav and a not in used)
        used.add(anti)
        pairs.append((pos, anti, flav))
    identical = nq == 2 and pairs[0][2] == pairs[1][2]
    symmetry = math.prod(math.factorial(c) for c in Counter(final).values())
    return Process(ids.index(11), ids.index(-11), gluons, tuple(pairs), identical, symmetry)


def supports(pdg: Sequence[int]) -> bool:
    """True if :func:`matrix_element` can evaluate this particle content."""
    try:
        classify(pdg)
    except UnsupportedProcessError:
        return False
    return True


class _Kin:
    """Per-batch kinematics with the helicity-axis layout (4, lepton, gluon_1..gluon_m, N)."""

    def __init__(self, momenta: F8, proc: Process, n_gluon_axes: int) -> None:
        self.nax = 1 + n_gluon_axes
        self.p = np.ascontiguousarray(np.moveaxis(momenta, -1, 0))  # (4, N, n)
        n_ev = momenta.shape[0]
        self.n_ev = n_ev
        pa = self.p[:, :, proc.e_minus]
        pb = self.p[:, :, proc.e_plus]
        cur = lepton_currents(pa, pb)  # (4, 2, N)
        self.lepton = cur.reshape((4, 2) + (1,) * n_gluon_axes + (n_ev,))
        self.q_in = self.mom(pa + pb)
        self.s = 2.0 * mdot(pa, pb, axis=0)

    def mom(self, v: F8) -> F8:
        """A (4, N) array reshaped to (4, 1.., N)."""
        return v.reshape((4,) + (1,) * self.nax + (self.n_ev,))

    def particle(self, i: int) -> F8:
        """Momentum of particle ``i`` with the helicity layout."""
        return self.mom(self.p[:, :, i])

    def gluon_eps(self, i: int, axis: int) -> F8:
        """Polarisations of particle ``i`` on gluon helicity axis ``axis`` (0-based)."""
        eps = linear_polarisations(self.p[:, :, i])  # (4, 2, N)
        shape = [4] + [1] * self.nax + [self.n_ev]
        shape[2 + axis] = 2
        return eps.reshape(shape)

    def spinor_end(self, i: int, left: bool, quark: bool) -> tuple[AnyArr, AnyArr]:
        """Quark row components (conjugated) or antiquark column components for chirality ``left``."""
        zeta, eta = weyl_spinors(self.p[:, :, i])
        sp = zeta if left else eta
        if quark:
            sp = np.conj(sp)
        shape = (1,) * self.nax + (self.n_ev,)
        return sp[0].reshape(shape), sp[1].reshape(shape)

    def ubar(self, i: int, left: bool) -> Row:
        """Outgoing-quark row spinor: ubar_L = [0, zeta^dagger], ubar_R = [eta^dagger, 0]."""
        c0, c1 = self.spinor_end(i, left, quark=True)
        return Row(c0, c1, upper=not left)

    def _couplings(self, flavour: int, params: EWParams) -> npt.NDArray[np.complex128]:
        """K[lepton chirality, quark chirality, event] (event axis of length 1 when s is fixed)."""
        s_val = float(self.s[0])
        if np.allclose(self.s, s_val, rtol=1e-12, atol=0.0):
            return np.array(boson_couplings(flavour, s_val, params))[:, :, None]
        return np.stack([np.array(boson_couplings(flavour, float(x), params)) for x in self.s], axis=-1)

    def couplings_squared(self, flavour: int, params: EWParams) -> F8:
        """|K|^2 with shape (2, 2, N or 1)."""
        return np.abs(self._couplings(flavour, params)) ** 2

    def boson(self, flavour: int, left: bool, params: EWParams) -> tuple[AnyArr, AnyArr]:
        """(eps_V, outgoing momentum -Q) with couplings for a quark line of this flavour and chirality."""
        coup = self._couplings(flavour, params)[:, 0 if left else 1]  # (2, N or 1)
        coup = coup.reshape((2,) + (1,) * (self.nax - 1) + (coup.shape[-1],))
        return self.lepton * coup, -self.q_in


def _colour_sum(amps: list[AnyArr], cmat: F8, keep_first: bool = False) -> F8:
    """sum_hel sum_kl A_k^* C_kl A_l (C real symmetric) over every axis but the last (and the first)."""
    shape = np.broadcast_shapes(*(a.shape for a in amps))
    k = len(amps)
    re = np.empty((k, *shape))
    im = np.empty((k, *shape))
    for i, a in enumerate(amps):
        re[i] = a.real
        im[i] = a.imag
    re2 = re.reshape(k, -1)
    im2 = im.reshape(k, -1)
    val = np.einsum("km,km->m", re2, cmat @ re2) + np.einsum("km,km->m", im2, cmat @ im2)
    if keep_first:
        return np.asarray(val.reshape(shape[0], -1, shape[-1]).sum(axis=1))
    return np.asarray(val.reshape(-1, shape[-1]).sum(axis=0))


def _one_line(kin: _Kin, proc: Process, params: EWParams) -> F8:
    """One quark line.  Only the left-handed line is computed: by parity (and the absence of T-odd terms at
    tree level) the helicity-summed squared amplitude of the right-handed line with lepton chirality l equals
    that of the left-handed line with lepton chirality 1 - l; the couplings factor out of all orderings."""
    iq, iqb, flav = proc.pairs[0]
    ng = len(proc.gluons)
    eps = [kin.gluon_eps(g, k) for k, g in enumerate(proc.gluons)]
    moms = [kin.particle(g) for g in proc.gluons]
    cur = GluonCurrents(eps, moms)
    ubar = kin.ubar(iq, True)
    vend = kin.spinor_end(iqb, True, quark=False)
    boson = (kin.lepton, -kin.q_in)
    memo = LineMemo()
    amps = [quark_line(ubar, vend, kin.particle(iq), o, cur, boson, memo) for o in orderings(ng)]
    x_left = _colour_sum(amps, one_line_colour_matrix(ng), keep_first=True)  # (lepton chirality, N)
    k2 = kin.couplings_squared(flav, params)  # (lepton, quark chirality, N or 1)
    total = k2[0, 0] * x_left[0] + k2[1, 0] * x_left[1] + k2[0, 1] * x_left[1] + k2[1, 1] * x_left[0]
    return np.asarray(total * params.gs2**ng)


@dataclass
class _Line:
    """A quark line of fixed chirality: its wavefunctions, boson and the gluon currents it emits (lazily)."""

    ubar: Row
    vend: tuple[AnyArr, AnyArr]
    p_q: AnyArr
    p_qbar: AnyArr
    boson: tuple[AnyArr, AnyArr]
    _currents: dict[bool, tuple[AnyArr, AnyArr]]

    def current(self, with_boson: bool) -> tuple[AnyArr, AnyArr]:
        """(J, P) of the off-shell gluon this line emits, with or without the boson on it."""
        hit = self._currents.get(with_boson)
        if hit is None:
            hit = line_current(
                self.ubar, self.vend, self.p_q, self.p_qbar, self.boson if with_boson else None
            )
            self._currents[with_boson] = hit
        return hit

    def amplitude(self, order: list[int], leaves: GluonCurrents, with_boson: bool) -> AnyArr:
        """Colour-ordered amplitude of this line with the leaves in ``order``."""
        return quark_line(self.ubar, self.vend, self.p_q, order, leaves, self.boson if with_boson else None)


def _two_line_amps(a: _Line, b: _Line, kin: _Kin, gl: int | None) -> list[AnyArr]:
    """Partial amplitudes of lines a = (q, qbar), b = (Q, Qbar) (+ g): [A] or [A1..A4] (colour.py basis)."""
    if gl is None:
        b0, bv = b.current(False), b.current(True)
        amp = a.amplitude([0], GluonCurrents([b0[0]], [b0[1]]), True)
        return [amp + a.amplitude([0], GluonCurrents([bv[0]], [bv[1]]), False)]
    eg, pg = kin.gluon_eps(gl, 0), kin.particle(gl)
    out = []
    # gluon on line a or on the exchanged gluon: line-a recursion with leaves (g, G_b)
    b0, bv = b.current(False), b.current(True)
    on_a_v = GluonCurrents([eg, b0[0]], [pg, b0[1]])
    on_a_0 = GluonCurrents([eg, bv[0]], [pg, bv[1]])
    for order in ([0, 1], [1, 0]):
        out.append(a.amplitude(order, on_a_v, True) + a.amplitude(order, on_a_0, False))
    # gluon on line b only (no 3-gluon vertex: counted above)
    a0, av = a.current(False), a.current(True)
    on_b_v = GluonCurrents([eg, a0[0]], [pg, a0[1]], multi=False)
    on_b_0 = GluonCurrents([eg, av[0]], [pg, av[1]], multi=False)
    for order in ([0, 1], [1, 0]):
        out.append(b.amplitude(order, on_b_v, True) + b.amplitude(order, on_b_0, False))
    return out


def _two_lines(kin: _Kin, proc: Process, params: EWParams) -> F8:
    (q1, a2, f12), (q3, a4, f34) = proc.pairs
    gl = proc.gluons[0] if proc.gluons else None
    lines: dict[tuple[int, int, bool], _Line] = {}

    def line(q: int, qbar: int, flavour: int, left: bool) -> _Line:
        key = (q, qbar, left)
        if key not in lines:
            lines[key] = _Line(
                kin.ubar(q, left),
                kin.spinor_end(qbar, left, quark=False),
                kin.particle(q),
                kin.particle(qbar),
                kin.boson(flavour, left, params),
                {},
            )
        return lines[key]

    total = np.zeros(kin.n_ev)
    if gl is None:
        cmat = four_quark_colour_matrix(proc.identical)
    else:
        cmat = four_quark_gluon_colour_matrix(proc.identical)
    for l12 in (True, False):
        for l34 in (True, False):
            amps = _two_line_amps(line(q1, a2, f12, l12), line(q3, a4, f34, l34), kin, gl)
            if proc.identical:
                # antiquarks exchanged: q(1) with qbar(4), Q(3) with qbar(2); relative minus sign.
                # The chirality of a line follows its quark; its antiquark spinor must match it.
                exch = _two_line_amps(line(q1, a4, f12, l12), line(q3, a2, f34, l34), kin, gl)
                if l12 == l34:
                    total += _colour_sum(amps + [-x for x in exch], cmat)
                else:
                    # different external antiquark helicities: the two terms do not interfere
                    k = len(amps)
                    total += _colour_sum(amps, cmat[:k, :k]) + _colour_sum(exch, cmat[k:, k:])
                continue
            total += _colour_sum(amps, cmat)
    return total * params.gs2 ** (2 + len(proc.gluons))


#: events per internal chunk (bounds the memory of the helicity-broadcast arrays: ~100 MB at 5 jets)
CHUNK = 8192
#: relative tolerances of the input checks: |p^2| <= MASS_TOL E^2, |sum p_out - sum p_in| <= CONS_TOL sqrt(s)
MASS_TOL = 1e-6
CONS_TOL = 1e-6


def _check_kinematics(mom: F8, proc: Process, pdg: Sequence[int]) -> None:
    """Refuse massive, non-conserving or non-finite momenta with the first offending event."""
    where = f"process with pdg {list(pdg)}"
    if not np.all(np.isfinite(mom)):
        bad = int(np.argwhere(~np.isfinite(mom).all(axis=(1, 2)))[0, 0])
        raise ValueError(f"{where}: non-finite momentum in event {bad}")
    m2 = msq(mom)
    rel = np.abs(m2) / np.maximum(mom[..., 0] ** 2, 1e-300)
    if np.any(rel > MASS_TOL):
        ev, part = (int(x) for x in np.argwhere(rel > MASS_TOL)[0])
        raise ValueError(
            f"{where}: the built-in ME is massless, but particle {part} (pdg {pdg[part]}) of event {ev} has "
            f"p^2 = {m2[ev, part]:.6g} GeV^2 (|p^2|/E^2 = {rel[ev, part]:.3g} > {MASS_TOL})"
        )
    incoming = mom[:, proc.e_minus] + mom[:, proc.e_plus]
    outgoing = mom.sum(axis=1) - incoming
    sqrt_s = np.sqrt(np.maximum(msq(incoming), 0.0))
    dev = np.max(np.abs(outgoing - incoming), axis=-1)
    if np.any(dev > CONS_TOL * sqrt_s):
        ev = int(np.argmax(dev / np.maximum(sqrt_s, 1e-300)))
        raise ValueError(
            f"{where}: momentum not conserved in event {ev}: |sum out - sum in| = {dev[ev]:.3g} GeV "
            f"at sqrt(s) = {sqrt_s[ev]:.6g} GeV"
        )


def matrix_element(momenta: F8, pdg: Sequence[int], params: EWParams | None = None) -> F8:
    """Exact tree-level |M|^2 in the fame-dump (Sherpa MEProcess) normalisation.

    Parameters
    ----------
    momenta : ndarray, float64, shape (N, n, 4)
        (E, px, py, pz) in GeV, particles in the order of ``pdg``; massless (|p^2| <= 1e-6 E^2) and
        momentum-conserving (to 1e-6 sqrt(s)); any frame.  Evaluated in chunks of :data:`CHUNK` events.
    pdg : sequence of int
        Incoming e- and e+ first (either order), then the final state in any order.
    params : EWParams, optional
        Couplings; default: those of the Sherpa reference data.

    Returns
    -------
    ndarray, float64, shape (N,)
        |M|^2 in GeV^(4 - 2 n_out).

    Raises
    ------
    UnsupportedProcessError
        If the particle content is not supported (see :func:`classify`).
    ValueError
        Wrong shape, massive or non-conserving momenta, or a singular point (|M|^2 not finite), naming
        the first offending event.
    """
    proc = classify(pdg)
    mom = np.asarray(momenta, dtype=np.float64)
    if mom.ndim != 3 or mom.shape[1:] != (len(pdg), 4):
        raise ValueError(f"momenta must have shape (N, {len(pdg)}, 4) for pdg {list(pdg)}, found {mom.shape}")
    params = EWParams() if params is None else params
    if len(mom) == 0:
        return np.zeros(0)
    _check_kinematics(mom, proc, pdg)
    kernel = _one_line if len(proc.pairs) == 1 else _two_lines
    out = np.empty(len(mom))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for lo in range(0, len(mom), CHUNK):
            kin = _Kin(mom[lo : lo + CHUNK], proc, len(proc.gluons))
            out[lo : lo + CHUNK] = kernel(kin, proc, params)
    bad = ~np.isfinite(out)
    if np.any(bad):
        ev = int(np.argmax(bad))
        raise ValueError(
            f"process with pdg {list(pdg)}: |M|^2 is not finite at event {ev} (a vanishing invariant: "
            "soft or collinear partons, or a parton along a beam with a zero-energy component)"
        )
    return np.asarray(out / (4.0 * proc.symmetry))
