"""Colour-ordered Berends-Giele recursion for one massless quark line (reference/physics.md §1.2).

Couplings are stripped (g_s = 1); the boson vertex carries its electroweak couplings in its "polarisation"
vector.  All objects broadcast: four-vectors have shape ``(4, *h, N)`` with helicity axes ``h`` (size 1 or 2
each) and the event axis last; row spinors are pairs of ``(*h, N)`` arrays.

Feynman rules (Peskin-Schroeder, all momenta outgoing, g_s = 1):
gluon current J(pi) = (-i/P^2) [ sum (-i) V3(J_L, P_L; J_R, P_R) + sum (+i) V4(J_1, J_2, J_3) ]
= -(sum V3 - sum V4)/P^2 (real for real polarisation vectors), quark-gluon vertex i gamma.J, boson vertex
gamma.eps_V, quark propagator i pslash / p^2.  Spinor algebra is 2-component (chiral basis): a row spinor
keeps one non-zero 2-block, which every gamma matrix swaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from lhe_tools.fourvec import mdot, msq

__all__ = ["GluonCurrents", "Row", "line_current", "quark_line", "row_slash"]

A = npt.NDArray[np.complex128]
AnyArr = npt.NDArray[Any]


@dataclass(frozen=True)
class Row:
    """A row Dirac spinor with one non-zero 2-block: [c0, c1, 0, 0] (``upper``) or [0, 0, c0, c1]."""

    c0: AnyArr
    c1: AnyArr
    upper: bool

    def __add__(self, other: Row) -> Row:
        if other.upper != self.upper:
            raise ValueError("adding row spinors of different chirality blocks")
        return Row(self.c0 + other.c0, self.c1 + other.c1, self.upper)


def row_slash(r: Row, v: AnyArr) -> Row:
    """r . (gamma^mu v_mu) for a contravariant vector v (shape (4, ...)).

    upper block a: a (v.sigma), giving a lower block; lower block b: b (v.sigmabar), giving an upper block.
    """
    v0, v1, v2, v3 = v[0], v[1], v[2], v[3]
    tp = v1 + 1j * v2
    tm = v1 - 1j * v2
    # in-place accumulation: one temporary less per component (these arrays are the large ones)
    if r.upper:
        # v.sigma = [[v0 - v3, -(v1 - i v2)], [-(v1 + i v2), v0 + v3]]
        out0 = r.c0 * (v0 - v3)
        out0 -= r.c1 * tp
        out1 = r.c1 * (v0 + v3)
        out1 -= r.c0 * tm
        return Row(out0, out1, False)
    # v.sigmabar = [[v0 + v3, v1 - i v2], [v1 + i v2, v0 - v3]]
    out0 = r.c0 * (v0 + v3)
    out0 += r.c1 * tp
    out1 = r.c0 * tm
    out1 += r.c1 * (v0 - v3)
    return Row(out0, out1, True)


def slash_column(v: AnyArr, col: tuple[AnyArr, AnyArr], row_upper: bool) -> tuple[AnyArr, AnyArr]:
    """(gamma.v) c as the 2 components that a row of block ``row_upper`` contracts with: r.(vslash c).

    For an upper row a: a (v.sigma) c; for a lower row b: b (v.sigmabar) c.
    """
    v0, v1, v2, v3 = v[0], v[1], v[2], v[3]
    tp = v1 + 1j * v2
    tm = v1 - 1j * v2
    c0, c1 = col
    if row_upper:
        return c0 * (v0 - v3) - c1 * tm, -c0 * tp + c1 * (v0 + v3)
    return c0 * (v0 + v3) + c1 * tm, c0 * tp + c1 * (v0 - v3)


def _v3(x: AnyArr, p1: AnyArr, y: AnyArr, p2: AnyArr) -> AnyArr:
    """Colour-ordered 3-gluon vertex V3^mu(X, P1; Y, P2)."""
    return (  # type: ignore[no-any-return]
        x * mdot(2.0 * p1 + p2, y, axis=0)
        + mdot(x, y, axis=0) * (p2 - p1)
        - y * mdot(p1 + 2.0 * p2, x, axis=0)
    )


def _v4(j1: AnyArr, j2: AnyArr, j3: AnyArr) -> AnyArr:
    """Colour-ordered 4-gluon vertex V4^mu(J1, J2, J3)."""
    return 2.0 * j2 * mdot(j1, j3, axis=0) - j3 * mdot(j1, j2, axis=0) - j1 * mdot(j2, j3, axis=0)  # type: ignore[no-any-return]


class GluonCurrents:
    """Memoised colour-ordered gluon currents J(pi) for consecutive blocks pi of leaves.

    Parameters
    ----------
    eps : sequence of ndarray, shape (4, *h, N)
        Leaf "polarisations" (external gluon vectors, or off-shell currents of other quark lines).
    momenta : sequence of ndarray, float64, shape (4, *h, N)
        Outgoing momenta carried by the leaves.
    multi : bool
        If False, blocks of more than one leaf vanish (no 3- and 4-gluon vertices).
    """

    def __init__(self, eps: Sequence[AnyArr], momenta: Sequence[AnyArr], multi: bool = True) -> None:
        self._eps = list(eps)
        self._mom = list(momenta)
        self._multi = multi
        self._cache: dict[tuple[int, ...], tuple[AnyArr | None, AnyArr]] = {}
        self._vertex: dict[tuple[int, ...], tuple[AnyArr | None]] = {}
        self._psum: dict[tuple[int, ...], AnyArr] = {}

    def momentum(self, block: tuple[int, ...]) -> AnyArr:
        """Sum of the leaf momenta of ``block`` (memoised)."""
        total = self._psum.get(block)
        if total is None:
            total = self._mom[block[0]]
            for i in block[1:]:
                total = total + self._mom[i]
            self._psum[block] = total
        return total

    def vertex(self, block: tuple[int, ...]) -> AnyArr | None:
        """i J(block): the quark-gluon vertex factor's vector (memoised), None where J vanishes."""
        hit = self._vertex.get(block)
        if hit is None:
            cur, _ = self.get(block)
            hit = (None if cur is None else 1j * cur,)
            self._vertex[block] = hit
        return hit[0]

    def get(self, block: tuple[int, ...]) -> tuple[AnyArr | None, AnyArr]:
        """(J, P) for an ordered block of leaf indices; J is None where it vanishes identically."""
        hit = self._cache.get(block)
        if hit is not None:
            return hit
        p = self.momentum(block)
        cur: AnyArr | None
        if len(block) == 1:
            cur = self._eps[block[0]]
        elif not self._multi:
            cur = None
        else:
            total: AnyArr | None = None
            m = len(block)
            for cut in range(1, m):
                jl, pl = self.get(block[:cut])
                jr, pr = self.get(block[cut:])
                if jl is None or jr is None:
                    continue
                term = _v3(jl, pl, jr, pr)
                total = term if total is None else total + term
            for c1 in range(1, m - 1):
                for c2 in range(c1 + 1, m):
                    j1, _ = self.get(block[:c1])
                    j2, _ = self.get(block[c1:c2])
                    j3, _ = self.get(block[c2:])
                    if j1 is None or j2 is None or j3 is None:
                        continue
                    term = _v4(j1, j2, j3)
                    total = -term if total is None else total - term
            # (-i/P^2) [(-i) V3 + (+i) V4] = -(V3 - V4)/P^2: real for real (linear) polarisations
            cur = None if total is None else total * (-1.0 / msq(p, axis=0))
        self._cache[block] = (cur, p)
        return cur, p


@dataclass
class LineMemo:
    """Prefix rows and end columns of one quark line, shared by all orderings of the same leaves."""

    rows: dict[tuple[object, ...], Row] = field(default_factory=dict)
    cols: dict[tuple[object, ...], tuple[AnyArr, AnyArr]] = field(default_factory=dict)


def quark_line(
    ubar: Row,
    vbar_end: tuple[AnyArr, AnyArr],
    p_quark: AnyArr,
    order: Sequence[int],
    currents: GluonCurrents,
    boson: tuple[AnyArr, AnyArr] | None,
    memo: LineMemo | None = None,
) -> AnyArr:
    """Colour-ordered amplitude ubar(q) [...] v(qbar) with the leaves attached in ``order``.

    Parameters
    ----------
    ubar : Row
        Outgoing-quark row spinor (its block fixes the chirality of the line).
    vbar_end : (ndarray, ndarray)
        The two non-zero components of v(qbar) in the block the chain ends in.
    p_quark : ndarray, float64, shape (4, *h, N)
        Outgoing quark momentum.
    order : sequence of int
        Leaf indices along the line from the quark to the antiquark.
    currents : GluonCurrents
        Leaf currents.
    boson : (eps_V, P_V) or None
        Boson vector (couplings included) and its outgoing momentum; inserted at every position.
        ``None``: no boson on this line.
    memo : LineMemo, optional
        Shared cache (pass the same one for every ordering of the same line, leaves and boson).

    Returns
    -------
    ndarray, complex128, shape (*h, N)
    """
    memo = LineMemo() if memo is None else memo
    rows = memo.rows
    n = len(order)
    pv = None if boson is None else boson[1]

    def prop(r: Row, p: AnyArr) -> Row:
        # i pslash / p^2, the scalar folded into the (small) vector before the (large) spinor product
        return row_slash(r, p * (1j / msq(p, axis=0)))

    def u0(k: int) -> Row:
        key: tuple[object, ...] = ("0", tuple(order[:k]))
        hit = rows.get(key)
        if hit is not None:
            return hit
        if k == 0:
            return ubar
        acc: Row | None = None
        for j in range(k):
            cur = currents.vertex(tuple(order[j:k]))
            if cur is None:
                continue
            t = row_slash(u0(j), cur)
            acc = t if acc is None else acc + t
        if acc is None:
            raise ValueError("empty quark-line current")
        p = p_quark + currents.momentum(tuple(order[:k]))
        out = prop(acc, p)
        rows[key] = out
        return out

    def uv_tilde(k: int) -> Row:
        assert boson is not None
        acc = row_slash(u0(k), boson[0])
        for j in range(k):
            cur = currents.vertex(tuple(order[j:k]))
            if cur is None:
                continue
            acc = acc + row_slash(uv(j), cur)
        return acc

    def uv(k: int) -> Row:
        key: tuple[object, ...] = ("V", tuple(order[:k]))
        hit = rows.get(key)
        if hit is not None:
            return hit
        assert pv is not None
        p = p_quark + pv
        if k:
            p = p + currents.momentum(tuple(order[:k]))
        out = prop(uv_tilde(k), p)
        rows[key] = out
        return out

    # last step: r . (Xslash v) with the (small) columns Xslash v precomputed, instead of a full row product
    upper = ubar.upper  # every u0(k), uv(k) has the block of ubar (an even number of gamma matrices)

    def column(key: tuple[object, ...], vec: AnyArr) -> tuple[AnyArr, AnyArr]:
        hit = cols.get(key)
        if hit is None:
            hit = slash_column(vec, vbar_end, upper)
            cols[key] = hit
        return hit

    cols = memo.cols
    total: AnyArr | None = None
    if boson is not None:
        col = column(("V",), boson[0])
        r = u0(n)
        total = r.c0 * col[0] + r.c1 * col[1]
    for j in range(n):
        block = tuple(order[j:n])
        cur = currents.vertex(block)
        if cur is None:
            continue
        col = column(("J", block), cur)
        r = u0(j) if boson is None else uv(j)
        term = r.c0 * col[0] + r.c1 * col[1]
        total = term if total is None else total + term
    if total is None:
        raise ValueError("quark line without boson needs at least one leaf")
    return total


def sandwich(row: Row, col: tuple[AnyArr, AnyArr]) -> AnyArr:
    """The vector r gamma^mu c (contravariant, shape (4, ...)) of a row and a column of matching blocks.

    Upper row a: a sigma^mu c; lower row b: b sigmabar^mu c.
    """
    r0, r1, c0, c1 = row.c0, row.c1, col[0], col[1]
    sign = 1.0 if row.upper else -1.0
    t = r0 * c0 + r1 * c1
    x = r0 * c1 + r1 * c0
    y = 1j * (r1 * c0 - r0 * c1)
    z = r0 * c0 - r1 * c1
    shape = np.broadcast_shapes(t.shape, x.shape, y.shape, z.shape)
    return np.stack([np.broadcast_to(t, shape), sign * x, sign * y, sign * z])


def line_current(
    ubar: Row,
    vbar_end: tuple[AnyArr, AnyArr],
    p_quark: AnyArr,
    p_antiquark: AnyArr,
    boson: tuple[AnyArr, AnyArr] | None,
) -> tuple[AnyArr, AnyArr]:
    """Off-shell gluon current emitted by a quark line (optionally with the boson on it).

    J^mu = (-i/P^2) ubar(q) [...] (i gamma^mu) [...] v(qbar), the vertex on both sides of the boson;
    P = p_q + p_qbar (+ P_V) is the momentum the current carries away as an outgoing leaf.

    Returns
    -------
    current : ndarray, complex128, shape (4, *h, N)
    momentum : ndarray, float64, shape (4, *h, N)
    """
    p = p_quark + p_antiquark
    if boson is None:
        return sandwich(ubar, vbar_end) / msq(p, axis=0), p
    eps_v, p_v = boson
    p = p + p_v

    def prop_vec(q: AnyArr) -> AnyArr:
        return q * (1j / msq(q, axis=0))

    # boson next to the quark: ubar epsV S(p_q + P_V) gamma^mu v
    left = row_slash(row_slash(ubar, eps_v), prop_vec(p_quark + p_v))
    first = sandwich(left, vbar_end)
    # boson next to the antiquark: ubar gamma^mu S(-p_qbar - P_V) epsV v
    col = slash_column(eps_v, vbar_end, ubar.upper)
    col = slash_column(prop_vec(-p_antiquark - p_v), col, not ubar.upper)
    second = sandwich(ubar, col)
    return (first + second) / msq(p, axis=0), p
