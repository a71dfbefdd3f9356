"""The surrogate's inputs (features, dipoles, φ columns, lepton-pair factor) in few, large graph nodes.

A generator calls the surrogate once per phase-space point, and ONNX Runtime then pays ≈ 0.3–0.5 µs per
executed node whatever its size (``benchmarks/bench_inference.py``: ``ort_batch1_overhead``), plus, in
float64, ≈ 0.5 ns per multiply-add of a MatMul with a constant matrix (it is not pre-packed) and ≈ 10 ns per
gathered element, so at batch 1 the cost of a call is mostly its node count.  :class:`FusedInputs` computes
what :class:`~fame_surrogate.features.FeatureMap` and :class:`~fame_surrogate.dipoles.DipoleBasis` compute,
the same functions up to rounding, with a node count that does not grow with the number of dipoles, dipole
families or splitting kinds:

1. the Gram matrix of the momenta as one batched MatMul (metric signs folded in), and the pairs the model
   reads gathered from it (pair-major ``(m, B)``, as ``gram_rows``);
2. every *ratio of linear forms* of those invariants that the kernels, the φ columns, the logarithmic
   features and the lepton-pair factor need, as one stack: one constant matrix times the Gram rows gives
   every distinct numerator and denominator (constants added; the ratios' numerators and denominators are
   gathered from it), then one division.  Each kernel is written as ``bracket = Σ lins + P·Q`` of such
   ratios, its monomial coefficients, constant and coupling/2 in the numerators (``κ u = (κ n)/d``,
   ``u + κ_0 = (n + κ_0 d)/d``), and ``D = bracket [· 1/x] · 1/a`` (1/a one more ratio): e.g. for FF,
   with a = p_i·p_j, b = p_i·p_k, c = p_j·p_k, the g→gg bracket is b/(a+c) + c/(a+b) plus the product
   c/(b+c) · b/(b+c); for FI/IF/II the recoil x, 1/x, z̃_i and the soft denominators are ratios of the same
   kind.  The features' logarithm arguments are y_{ij,k} = a/(a+b+c) (FF), (1 − x)/x as a ratio of
   invariants (FI/IF/II), 2 s_ij/ŝ (the antenna-chain column is a log-sum-exp of their logarithms) and ŝ;
   the φ columns' P/(2 s_ij), P/s_ij; the lepton-pair factor's
   A2/m², α m² + β and m² − m_Z² (F = A2/m² + (α m² + β)/((m² − m_Z²)² + m_Z²Γ_Z²));
3. one constant matrix times the momenta's rows (for hadron collisions, the partonic frame's, itself from one
   constant matrix and a few elementwise nodes) gives the final-state momenta and the φ factors (T = p_i +
   p_j and i), whose products and sums are ``_ops.cos_sin_2phi``'s.

The rewrites are algebraic identities of the kernels (``cs_kernels.ff_dipole`` … ``ii_dipole``): for example
the FI recoil enters as 1/x = (p_ia + p_ja)/(p_ia + p_ja − p_ij) rather than as a division by
x = (p_ia + p_ja − p_ij)/(p_ia + p_ja), and a FI/IF/II feature's (1 − x)/x = p_ij/(p_ia + p_ja − p_ij) is
taken from the invariants instead of from a rounded x (near x → 1 the more accurate of the two).
``tests/fame_surrogate/test_fused.py`` checks them against the modules on real data.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._ops import _TINY, pair_rows
from .cs_kernels import coupling
from .dipoles import Dipole, DipoleBasis, enumerate_dipoles, invariant_pairs
from .features import FeatureMap, _beamless_pairs
from .resonance import LeptonPairPropagator

__all__ = ["FusedInputs", "fused_pairs"]

#: floor of the features' logarithm arguments (``features._LOG_FLOOR``)
_LOG_FLOOR = 1e-30

# A linear form is up to three (pair, sign) terms plus a constant: ((pair, sign), ...), const
_Form = tuple[tuple[tuple[tuple[int, int], float], ...], float]


def _form(*terms: tuple[tuple[int, int], float], const: float = 0.0) -> _Form:
    return tuple(terms), const


def _kernel(d: Dipole, alpha_s: float) -> tuple[list[_Form], list[float], tuple[int, int]]:
    """The five (numerator, denominator) ratio slots, the coefficients of [u_1..u_5, u_p u_q, 1] (coupling/2
    included) and (p, q) (0-based slots) of one dipole, with a, b, c its three invariants in
    :func:`~fame_surrogate.dipoles.invariant_pairs` order."""
    a, b, c = invariant_pairs(d)
    one = (_form((a, 1.0)), _form((a, 1.0)))  # a/a = 1: an unused slot
    half = 0.5 * coupling(d.kind, alpha_s)
    coef = [0.0] * 7
    if d.family == "FF":  # u = b/(a+c), c/(b+c), c/(a+b), b/(b+c), 1
        slots = [
            (_form((b, 1.0)), _form((a, 1.0), (c, 1.0))),
            (_form((c, 1.0)), _form((b, 1.0), (c, 1.0))),
            (_form((c, 1.0)), _form((a, 1.0), (b, 1.0))),
            (_form((b, 1.0)), _form((b, 1.0), (c, 1.0))),
            one,
        ]
        pq = (1, 3)  # u_2 u_4 = b c/(b+c)²
        if d.kind == "qg":
            coef[0], coef[1] = 2.0, 1.0
        elif d.kind == "gg":
            coef[0], coef[2], coef[5] = 1.0, 1.0, 1.0
        else:  # qqbar
            coef[5], coef[6] = -2.0, 1.0
    elif d.family == "FI":  # a = p_ij, b = p_ia, c = p_ja; u = inv_i, inv_j, z̃_i, 1, 1/x
        slots = [
            (_form((b, 1.0), (c, 1.0)), _form((c, 1.0), (a, 1.0))),
            (_form((b, 1.0), (c, 1.0)), _form((b, 1.0), (a, 1.0))),
            (_form((b, 1.0)), _form((b, 1.0), (c, 1.0))),
            one,
            (_form((b, 1.0), (c, 1.0)), _form((b, 1.0), (c, 1.0), (a, -1.0))),
        ]
        pq = (2, 2)  # z̃_i²
        if d.kind == "qg":  # 2 inv_i − (1 + z̃_i)
            coef[0], coef[2], coef[6] = 2.0, -1.0, -1.0
        elif d.kind == "gg":  # inv_i + inv_j − 2 + z̃_i − z̃_i²
            coef[0], coef[1], coef[2], coef[5], coef[6] = 1.0, 1.0, 1.0, -1.0, -2.0
        else:  # qqbar: 1 − 2 z̃_i + 2 z̃_i²
            coef[2], coef[5], coef[6] = -2.0, 2.0, 1.0
    else:
        if d.family == "IF":  # a = p_ai, b = p_ak, c = p_ik; x = (b + a − c)/(b + a), soft = (a+b)/(c+a)
            x_num, x_den = _form((b, 1.0), (a, 1.0), (c, -1.0)), _form((b, 1.0), (a, 1.0))
            soft = (_form((a, 1.0), (b, 1.0)), _form((c, 1.0), (a, 1.0)))
        else:  # II: a = p_ai, b = p_bi, c = p_ab; x = (c − a − b)/c, soft = c/(a+b)
            x_num, x_den = _form((c, 1.0), (a, -1.0), (b, -1.0)), _form((c, 1.0))
            soft = (_form((c, 1.0)), _form((a, 1.0), (b, 1.0)))
        slots = [(x_num, x_den), soft, one, one, (x_den, x_num)]  # u = x, soft, 1, 1, 1/x
        pq = (0, 0)  # x²
        if d.kind == "qg":  # 2 soft − (1 + x)
            coef[1], coef[0], coef[6] = 2.0, -1.0, -1.0
        elif d.kind == "gq":  # 1 − 2x + 2x²
            coef[0], coef[5], coef[6] = -2.0, 2.0, 1.0
        elif d.kind == "qq":  # x + 2(1 − x)/x = x + 2/x − 2
            coef[0], coef[4], coef[6] = 1.0, 2.0, -2.0
        else:  # gg: soft − 1 + (1 − x)/x + x(1 − x) = soft + 1/x + x − x² − 2
            coef[1], coef[4], coef[0], coef[5], coef[6] = 1.0, 1.0, 1.0, -1.0, -2.0
    return [f for s in slots for f in s], [half * k for k in coef], pq


_Ratio = tuple[_Form, _Form]
_ONE: _Ratio = (_form(const=1.0), _form(const=1.0))
_ZERO: _Ratio = (_form(const=0.0), _form(const=1.0))


def _scaled(f: _Form, k: float) -> _Form:
    """k times a linear form."""
    terms, const = f
    return tuple((pair, k * sign) for pair, sign in terms), k * const


def _kernel_terms(
    d: Dipole, alpha_s: float
) -> tuple[list[_Ratio], tuple[_Ratio, _Ratio] | None, _Ratio | None]:
    """One dipole's kernel as ratios of linear forms: ``bracket = Σ lins + P·Q`` (coupling/2, the monomial
    coefficients and the constant in the numerators: ``κ u = (κ n)/d``, ``u + κ_0 = (n + κ_0 d)/d``) and
    the multiplier u_5 (1/x; None for FF, where it is 1): ``D = bracket · u_5 / a``.

    Returns (lins (1 to 3), (P, Q) or None, u_5 or None), from :func:`_kernel`'s slots and coefficients.
    """
    forms, coef, (p, q) = _kernel(d, alpha_s)
    slots = [(forms[2 * t], forms[2 * t + 1]) for t in range(5)]
    lins = [(_scaled(slots[t][0], coef[t]), slots[t][1]) for t in range(5) if coef[t] != 0.0]
    if coef[6] != 0.0:  # the constant joins the first ratio: (n + κ_0 d)/d
        if lins:
            (nt, nc), (dt, dc) = lins[0]
            lins[0] = ((nt + _scaled(lins[0][1], coef[6])[0], nc + coef[6] * dc), (dt, dc))
        else:
            lins = [(_form(const=coef[6]), _form(const=1.0))]
    product = None
    if coef[5] != 0.0:
        product = (slots[p], (_scaled(slots[q][0], coef[5]), slots[q][1]))
    return lins, product, (None if d.family == "FF" else slots[4])


def _feature_forms(d: Dipole) -> tuple[_Form, _Form, float]:
    """(numerator, denominator, floor) of a dipole's logarithmic feature: y_{ij,k} for FF (no floor on its
    parts), (1 − x)/x for FI/IF/II as a ratio of invariants (parts floored like the modules' 1 − x and x)."""
    a, b, c = invariant_pairs(d)
    if d.family == "FF":  # y = a/(a + b + c)
        return _form((a, 1.0)), _form((a, 1.0), (b, 1.0), (c, 1.0)), -float("inf")
    if d.family == "FI":  # 1 − x = a/(b + c), x = (b + c − a)/(b + c)
        return _form((a, 1.0)), _form((b, 1.0), (c, 1.0), (a, -1.0)), _LOG_FLOOR
    if d.family == "IF":  # 1 − x = c/(b + a), x = (b + a − c)/(b + a)
        return _form((c, 1.0)), _form((b, 1.0), (a, 1.0), (c, -1.0)), _LOG_FLOOR
    # II: 1 − x = (a + b)/c, x = (c − a − b)/c
    return _form((a, 1.0), (b, 1.0)), _form((c, 1.0), (a, -1.0), (b, -1.0)), _LOG_FLOOR


def _shat_form(n_in: int) -> _Form:
    """ŝ = (Σ_{i<n_in} p_i)² as a linear form of the Gram entries (n_in = 1 or 2)."""
    if n_in == 1:
        return _form(((0, 0), 1.0))
    return _form(((0, 0), 1.0), ((1, 1), 1.0), ((0, 1), 2.0))


def fused_pairs(
    features: FeatureMap, basis: DipoleBasis | None, propagator: LeptonPairPropagator | None = None
) -> list[tuple[int, int]]:
    """The Gram pairs :class:`FusedInputs` reads (sorted; the incoming ones for ŝ and the lepton pair's for
    m_ll² included)."""
    pairs = set(features.pairs) | ({(0, 0), (0, 1), (1, 1)} if features.n_in == 2 else {(0, 0)})
    if basis is not None:
        pairs |= set(basis.pairs)
    if propagator is not None and propagator.pair is not None:
        lm, lp = propagator.pair
        pairs |= {(lm, lm), (lp, lp), (min(lm, lp), max(lm, lp))}
    return sorted(pairs)


class FusedInputs(nn.Module):
    """Features, dipoles, φ columns and the lepton-pair factor of a model, in few graph nodes.

    Parameters
    ----------
    features : FeatureMap
        The model's feature map (its column order is kept).
    basis : DipoleBasis, optional
        The model's dipole basis (its column order is kept); None for a model without dipoles (the MLP).
    propagator : LeptonPairPropagator, optional
        The lepton-pair factor, evaluated as its module does.

    Only ``n_in`` of 1 or 2 is supported (:meth:`supports`).
    """

    _select: Tensor
    _frame_select: Tensor
    _frame_squares: Tensor
    _frame_coef: Tensor
    _mirror_rows: Tensor
    _gram_flat: Tensor
    _metric: Tensor
    _phi_sum: Tensor
    _phi_mix: Tensor
    _phi_square: Tensor
    _phi_bias: Tensor
    _lf_matrix: Tensor
    _lf_const: Tensor
    _lf_floor: Tensor
    _lf_num: Tensor
    _lf_den: Tensor
    _prop: Tensor

    @staticmethod
    def supports(features: FeatureMap, basis: DipoleBasis | None = None) -> bool:
        """Whether the fused form covers this feature map and basis: one or two incoming particles and no
        massive particles (the fused form has neither the CDST kernels nor the massive-particle features;
        massive processes, e.g. tt̄ + jets, use the per-family form at every batch size)."""
        return features.n_in in (1, 2) and not features.massive and not (basis is not None and basis.massive)

    def __init__(
        self,
        features: FeatureMap,
        basis: DipoleBasis | None = None,
        propagator: LeptonPairPropagator | None = None,
    ) -> None:
        super().__init__()
        if not self.supports(features, basis):
            raise ValueError(
                "FusedInputs supports massless processes with 1 or 2 incoming particles, not "
                f"n_in = {features.n_in} (massive: {features.massive or bool(basis and basis.massive)})"
            )
        self.n_in = features.n_in
        self.n_particles = features.n_particles
        self.hadronic = features.hadronic
        self.pairs = fused_pairs(features, basis, propagator)
        n, m = self.n_particles, len(self.pairs)
        # the ratio stack, in the order forward() splits it: the dipoles' ratio blocks (lins, P, Q, u_5;
        # n_dipoles rows each), the φ scales (coupling/(2 s_ij), coupling/s_ij), the features' logarithm
        # arguments, ŝ, and the lepton-pair factor's three ratios
        ratios: list[_Ratio] = []
        floors: list[float] = []  # of a ratio's numerator and denominator (FI/IF/II features)
        dipoles = list(basis.dipoles) if basis is not None else []
        self.n_dipoles = len(dipoles)
        terms = [_kernel_terms(d, basis.alpha_s) for d in dipoles] if basis is not None else []
        self.n_lins = max((len(lins) for lins, _, _ in terms), default=0)
        self.has_product = any(pq is not None for _, pq, _ in terms)
        self.has_u5 = any(u5 is not None for _, _, u5 in terms)
        blocks: list[list[_Ratio]] = [
            [lins[t] if t < len(lins) else _ZERO for lins, _, _ in terms] for t in range(self.n_lins)
        ]
        if self.has_product:
            blocks += [[pq[k] if pq is not None else _ZERO for _, pq, _ in terms] for k in range(2)]
        if self.has_u5:
            blocks.append([u5 if u5 is not None else _ONE for _, _, u5 in terms])
        # 1/a, a = p_i·p_j (invariant_pairs' first): the dipoles' denominators as one more block (a Mul, where
        # gathering a and dividing would be two nodes); the one numerator and the a rows are shared forms
        blocks.append([(_form(const=1.0), _form((invariant_pairs(d)[0], 1.0))) for d in dipoles])
        self.n_blocks = len(blocks) if self.n_dipoles else 0
        for block in blocks[: self.n_blocks]:
            ratios += block
        # spin correlations, as DipoleBasis computes them (in the canonical frame for hadron collisions)
        phis = list(basis.phi_pairs) if basis is not None else []
        self.n_phi = len(phis)
        half = [0.5 * coupling(p.kind, basis.alpha_s) for p in phis] if basis is not None else []
        for k in (1.0, 2.0):  # P/(2 s_ij) for the cos terms, P/s_ij for the sin terms (2cs: 2 folded in)
            ratios += [
                (_form(const=k * h), _form(((p.i, p.j), 1.0))) for h, p in zip(half, phis, strict=True)
            ]
        floors += [-float("inf")] * len(ratios)
        # feature logarithm arguments, in the feature map's column order
        feature_dipoles = _feature_dipoles(features)
        for d in feature_dipoles:
            num, den, floor = _feature_forms(d)
            ratios.append((num, den))
            floors.append(floor)
        shat = _shat_form(self.n_in)
        sij_pairs = _beamless_pairs(features.pdg, features.n_in)
        # the antenna-chain column (the feature map's module) reads the log(2 s_ij/ŝ) rows of the logarithms
        self.antenna = features.antenna
        self._sij_rows = (len(feature_dipoles), len(feature_dipoles) + len(sij_pairs))
        for i, j in sij_pairs:
            ratios.append((_form(((i, j), 1.0), ((i, j), 1.0)), shat))  # 2 s_ij/ŝ, 2 s_ij exactly
            floors.append(-float("inf"))
        ratios += [(shat, _form(const=1.0))] * 2  # log ŝ, and ŝ for the momenta's scale
        floors += [-float("inf")] * 2
        self.n_log = len(ratios) - self.n_blocks * self.n_dipoles - 2 * self.n_phi - 1
        # F(s) = Σ_r s |a_r/s + b_r/(s − m_Z² + i m_Z Γ_Z)|² (resonance.LeptonPairPropagator), summed in
        # closed form: A2/s + (α s + β)/((s − m_Z²)² + (m_Z Γ_Z)²) with A2 = Σ a², α = 2 Σ a Re b + Σ |b|²,
        # β = 2 m_Z Γ_Z Σ a Im b − 2 m_Z² Σ a Re b (|re|² + |im|² of every row expanded: the same function);
        # A2/s, α s + β and s − m_Z² are ratios of linear forms of m_ll² = p_l² + p_l'² + 2 p_l·p_l'
        self.pair = propagator.pair if propagator is not None and propagator.active else None
        mg2 = 0.0
        if propagator is not None and self.pair is not None:
            a, br, bi = (propagator.coeff[:, k] for k in range(3))
            mz2, mg = float(propagator.mz2), float(propagator.mg)
            ab, ai, bb = float((a * br).sum()), float((a * bi).sum()), float((br * br + bi * bi).sum())
            a2, alpha, mg2 = float((a * a).sum()), 2.0 * ab + bb, mg * mg
            beta = 2.0 * mg * ai - 2.0 * mz2 * ab
            lm, lp = self.pair
            mll2 = _form(((lm, lm), 1.0), ((lp, lp), 1.0), ((lm, lp), 2.0))
            one = _form(const=1.0)
            ratios += [
                (_form(const=a2), mll2),
                ((_scaled(mll2, alpha)[0], beta), one),
                ((mll2[0], -mz2), one),
            ]
            floors += [-float("inf")] * 3
        self.register_buffer("_prop", torch.tensor([mg2], dtype=torch.float64)[:, None], persistent=False)

        # every distinct numerator and denominator as one row of a constant matrix over the Gram rows: one
        # MatMul (ONNX Runtime: one Gemm) instead of gathering, signing and summing rows per form; the
        # ratios' numerators and denominators are then gathered from its output.  Forms repeat a lot (the
        # kernels of one dipole share denominators, the blocks are padded with constant 0/1 ratios): at Z+4
        # the 816 numerators and denominators are 209 distinct rows (this float64 MatMul, not pre-packed,
        # cost ≈ 7 µs at 816 rows, timed alone; with the two Gathers the whole batch-1 call was not
        # measurably faster in an alternating A/B).  A row is its coefficients, constant and floor (the
        # floors are the numerators': denominators have none).
        def coefficients(form: _Form) -> tuple[float, ...]:
            row = [0.0] * m
            for (i, j), sign in form[0]:
                row[pair_rows(self.pairs, [(i, j)])[0]] += sign
            return (*row, form[1])

        row_of: dict[tuple[float, ...], int] = {}
        no_floor = [-float("inf")] * len(ratios)
        index = [
            row_of.setdefault((*coefficients(r[k]), floor), len(row_of))
            for k, floor_k in ((0, floors), (1, no_floor))
            for r, floor in zip(ratios, floor_k, strict=True)
        ]
        distinct = torch.tensor(list(row_of), dtype=torch.float64).reshape(len(row_of), m + 2)
        self.register_buffer("_lf_matrix", distinct[:, :m].contiguous(), persistent=False)
        self.register_buffer("_lf_const", distinct[:, m : m + 1].contiguous(), persistent=False)
        self.register_buffer("_lf_floor", distinct[:, m + 1 :].contiguous(), persistent=False)
        #: whether any form has a floor (FI/IF/II features); without, the graph has no Max node
        self.floored = any(f > -float("inf") for f in floors)
        self.n_ratios = len(ratios)
        for name, rows_of in (
            ("_lf_num", index[: len(ratios)]),
            ("_lf_den", index[len(ratios) :]),
        ):
            self.register_buffer(name, torch.tensor(rows_of, dtype=torch.int64), persistent=False)

        # the Gram rows: one batched MatMul of the momenta (metric signs folded in) with themselves and a
        # Gather of the pairs (folding the Gather into the forms matrix, n² columns instead of m, costs more
        # multiply-adds than the node saves)
        flat_index = torch.tensor([n * i + j for i, j in self.pairs], dtype=torch.int64)
        self.register_buffer("_gram_flat", flat_index, persistent=False)
        metric = torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64)
        self.register_buffer("_metric", metric, persistent=False)

        # the linear stage: one constant matrix times the momenta's (4n, B) rows (row 4k + c: component c of
        # particle k), or for hadron collisions :meth:`_frame`'s rows, gives every other row the graph reads:
        # the final-state momenta and the φ factors
        def select(rows: list[dict[int, float]], width: int) -> Tensor:
            out = torch.zeros(len(rows), width, dtype=torch.float64)
            for r, entries in enumerate(rows):
                for col, value in entries.items():
                    out[r, col] += value
            return out

        # component c of particle k in the frame's rows: the momenta's (4k + c), or for hadron collisions
        # :meth:`_frame`'s blocks [E'; p_z'; p_x'; p_y'] of n rows each
        frame_block = {0: 0, 3: 1, 1: 2, 2: 3}

        def row(k: int, c: int) -> int:
            return frame_block[c] * n + k if self.hadronic else 4 * k + c

        final = [{row(k, c): 1.0} for k in range(self.n_in, n) for c in range(4)]
        self.n_final = len(final)

        # φ: products summed over three terms r into [|T|²; T·I; (I × T)_x] (T = p_i + p_j, I = p_i, spatial;
        # rows r·3P + q·P + pair): left T_c, T_c, (i_z, i_y, 0) times right T_c, I_c, (t_y, −t_z, 0), as
        # _ops.cos_sin_2phi sums them; then the rows [i_x; t_x]
        def tot(p: int, c: int) -> dict[int, float]:
            out: dict[int, float] = {}
            for end in (phis[p].i, phis[p].j):
                out[row(end, c)] = out.get(row(end, c), 0.0) + 1.0
            return out

        def emitter(p: int, c: int, sign: float = 1.0) -> dict[int, float]:
            return {row(phis[p].i, c): sign}

        def neg(d: dict[int, float]) -> dict[int, float]:
            return {k: -v for k, v in d.items()}

        big_p = len(phis)
        left = [[tot(p, c) for q in range(2) for p in range(big_p)] for c in (1, 2, 3)]
        right = [[tot(p, c) for p in range(big_p)] + [emitter(p, c) for p in range(big_p)] for c in (1, 2, 3)]
        left[0] += [emitter(p, 3) for p in range(big_p)]
        right[0] += [tot(p, 2) for p in range(big_p)]
        left[1] += [emitter(p, 2) for p in range(big_p)]
        right[1] += [neg(tot(p, 3)) for p in range(big_p)]
        left[2] += [{} for _ in range(big_p)]
        right[2] += [{} for _ in range(big_p)]
        phi_rows = [e for r in left for e in r] + [e for r in right for e in r]
        phi_rows += [emitter(p, 1) for p in range(big_p)] + [tot(p, 1) for p in range(big_p)]
        self.n_select = [len(final), 9 * big_p, 9 * big_p, 2 * big_p]
        # and the constant matrices of :meth:`_phi` (identity blocks e, pair-wise): the three terms' sums
        # [|T|²; T·I; (I × T)_x; |T|²]; [c; s; c + s] of [|T|² i_x; (T·I) t_x; s]; [c² − s²; cs; c² + s²
        # (twice)] of [c²; s²; (c + s)²] (cs = ((c + s)² − c² − s²)/2), the last two plus the floor (bias)
        e = torch.eye(big_p, dtype=torch.float64)
        z = torch.zeros_like(e)
        sums = torch.cat([torch.cat([e if q == k else z for k in range(3)], dim=1) for q in (0, 1, 2, 0)])
        self.register_buffer("_phi_sum", sums.repeat(1, 3), persistent=False)
        mix = [[e, -e, z], [z, z, e], [e, -e, e]]
        self.register_buffer("_phi_mix", torch.cat([torch.cat(r, dim=1) for r in mix]), persistent=False)
        square = [[e, -e, z], [-0.5 * e, -0.5 * e, 0.5 * e], [e, e, z], [e, e, z]]
        self.register_buffer(
            "_phi_square", torch.cat([torch.cat(r, dim=1) for r in square]), persistent=False
        )
        bias = torch.cat([torch.zeros(2 * big_p, 1), torch.full((2 * big_p, 1), _TINY)]).to(torch.float64)
        self.register_buffer("_phi_bias", bias, persistent=False)
        self.register_buffer("_select", select(final + phi_rows, 4 * n), persistent=False)
        # the partonic frame (hadron collisions), _ops.partonic_frame's transformation: one constant matrix
        # gives X1 = [E; p_z; p_x; p_y] and X2 = [p_z; E; p_y; p_x] (n rows each), v = [E, p_z, x, y] (E, p_z
        # of the incoming sum, x, y of particle n_in) and the factors l = [E − p_z, x, y], r = [E + p_z, x, y]
        # of q = [E² − p_z² (twice), x² + y² (twice)]; v ⊙ rsqrt(q) = [γ, γβ, cos, sin]; the rows are
        # X1 ⊙ [γ; γ; cos; cos] + X2 ⊙ [−γβ; −γβ; sin; −sin]
        comp = {c: [4 * k + c for k in range(n)] for c in range(4)}
        x1 = [{r: 1.0} for c in (0, 3, 1, 2) for r in comp[c]]
        x2 = [{r: 1.0} for c in (3, 0, 2, 1) for r in comp[c]]
        e_in, z_in = ({4 * k + c: 1.0 for k in range(self.n_in)} for c in (0, 3))
        ref = [{4 * self.n_in + 1: 1.0}, {4 * self.n_in + 2: 1.0}]
        minus = {**e_in, **{k: -1.0 for k in z_in}}
        plus = {**e_in, **z_in}
        rows = x1 + x2 + [e_in, z_in, *ref] + [minus, *ref] + [plus, *ref]
        self.register_buffer("_frame_select", select(rows, 4 * n), persistent=False)
        squares = [[1.0, 0.0, 0.0]] * 2 + [[0.0, 1.0, 1.0]] * 2
        self.register_buffer("_frame_squares", torch.tensor(squares, dtype=torch.float64), persistent=False)
        coef = [[1.0, 0.0, 0.0, 0.0]] * 2 * n + [[0.0, 0.0, 1.0, 0.0]] * 2 * n  # γ, γ, cos, cos
        coef += [[0.0, -1.0, 0.0, 0.0]] * 2 * n + [[0.0, 0.0, 0.0, 1.0]] * n + [[0.0, 0.0, 0.0, -1.0]] * n
        self.register_buffer("_frame_coef", torch.tensor(coef, dtype=torch.float64), persistent=False)
        # 2 on the p_y' rows of the framed block [E'; p_z'; p_x'; p_y'], 0 elsewhere (:meth:`_frame`'s mirror)
        mirror_rows = torch.zeros(4 * n, 1, dtype=torch.float64)
        mirror_rows[3 * n :] = 2.0
        self.register_buffer("_mirror_rows", mirror_rows, persistent=False)

    def forward(
        self, momenta: Tensor, dtype: torch.dtype = torch.float64
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """Pair-major inputs of momenta (B, n, 4) float64.

        Returns
        -------
        features : Tensor, shape (n_features, B), ``dtype``
            The feature map's columns (as rows).
        dipoles : Tensor, float64, shape (n_dipoles, B)
            The dipoles D_k (the basis's column order).
        phi : Tensor, float64, shape (2 n_phi, B)
            The cos 2φ and the sin 2φ columns.
        factor : Tensor, float64, shape (1, B), or None
            The lepton-pair factor F (None without a propagator or a final-state lepton pair).
        """
        n = self.n_particles
        flat = momenta.reshape(-1, 4 * n).transpose(0, 1)  # (4n, B): row 4i + c, component c of particle i
        gram = torch.matmul(momenta * self._metric, momenta.transpose(1, 2)).reshape(-1, n * n)
        rows = torch.index_select(gram, 1, self._gram_flat).transpose(0, 1)  # (m, B), as gram_rows
        framed = self._frame(flat) if self.hadronic else flat
        final, left, right, phi_ixtx = torch.split(self._select @ framed, self.n_select, dim=0)
        # every numerator and denominator: one constant matrix times the Gram rows plus the constants (one
        # Gemm), floors, one division
        forms = torch.addmm(self._lf_const, self._lf_matrix, rows)
        if self.floored:
            forms = torch.maximum(forms, self._lf_floor)
        num = torch.index_select(forms, 0, self._lf_num)
        den = torch.index_select(forms, 0, self._lf_den)
        n_prop = 3 if self.pair is not None else 0
        nd, nb, nl = self.n_dipoles, self.n_blocks, self.n_lins
        split = [nd] * nb + [2 * self.n_phi, self.n_log, 1] + [1] * n_prop
        parts = torch.split(num / den, split, dim=0)  # the lepton-pair factor's three ratios as three parts
        *blocks, phi_scale, logarg, shat = parts[: nb + 3]
        prop = parts[nb + 3 :]
        # features: final-state momenta / √ŝ (canonical frame for hadron collisions), then the logarithms
        # (in float64, then rounded to ``dtype`` once: one Cast)
        logs = torch.log(torch.clamp(logarg, min=_LOG_FLOOR))
        columns = [final / torch.sqrt(shat), logs]
        if self.antenna is not None:
            columns.append(self.antenna(logs[self._sij_rows[0] : self._sij_rows[1]]))
        features = torch.cat(columns, dim=0).to(dtype)
        # dipoles: (Σ lins + P·Q) [· u_5] · 1/a (the sum as Adds: a constant (n_dipoles, n_lins n_dipoles)
        # Gemm would save a node but cost more in multiply-adds)
        dipoles = phi_scale[:0]
        if nd:
            bracket = blocks[0]
            for lin in blocks[1:nl]:
                bracket = bracket + lin
            k = nl
            if self.has_product:
                bracket = bracket + blocks[k] * blocks[k + 1]
                k += 2
            if self.has_u5:
                bracket = bracket * blocks[k]
                k += 1
            dipoles = bracket * blocks[k]
        phi = phi_scale
        if self.n_phi:
            phi = self._phi(left * right, phi_ixtx, phi_scale)
        factor = None
        if self.pair is not None:
            a2_s, lin, x = prop
            factor = a2_s + lin / (x * x + self._prop)
        return features, dipoles, phi, factor

    def _frame(self, flat: Tensor) -> Tensor:
        """``_ops.partonic_frame`` on the (4n, B) rows, as blocks [E'; p_z'; p_x'; p_y'] of n rows:
        E' = γE − γβ p_z, p_z' = γ p_z − γβ E, p_x' = cos·p_x + sin·p_y, p_y' = σ (cos·p_y − sin·p_x), with
        γ = E_in/√((E_in − p_z,in)(E_in + p_z,in)) and γβ = p_z,in/√(…) (the module's γ = 1/√((1 − β)(1 + β)),
        β = p_z,in/E_in), (cos, sin) = (x, y)_ref/p_T,ref and σ the mirror (``_ops.mirror_sign`` of particle
        n_in + 1's p_y')."""
        n4 = 4 * self.n_particles
        x12, v, left, right = torch.split(self._frame_select @ flat, [2 * n4, 4, 3, 3], dim=0)
        inv = torch.rsqrt(torch.clamp(self._frame_squares @ (left * right), min=_TINY))
        # [X1; X2] ⊙ [a; b] in one Mul, then the two halves added
        x1a, x2b = torch.split(x12 * (self._frame_coef @ (v * inv)), n4, dim=0)
        framed = x1a + x2b
        if self.n_particles <= self.n_in + 1:
            return framed
        # the mirror: the p_y' rows times 1 − 2 [particle n_in + 1's p_y' < 0] (``_ops.mirror_sign``)
        ref = n4 - self.n_particles + self.n_in + 1
        flip = (framed[ref : ref + 1] < 0.0).to(framed.dtype)
        return framed * (1.0 - self._mirror_rows * flip)

    def _phi(self, products: Tensor, ixtx: Tensor, scale: Tensor) -> Tensor:
        """P cos 2φ_ij/(2 s_ij) and P sin 2φ_ij/(2 s_ij) (2 n_phi, B): ``_ops.cos_sin_2phi``'s products and
        sums (c = |T|² i_x − T_x (T·I), s = |T| (I × T)_x, c² ∓ s², 2cs) from ``products`` (the three terms'
        products, 9 n_phi rows), ``ixtx`` = [i_x; t_x] and ``scale`` = [P/(2 s_ij); P/s_ij], in few nodes:
        three constant matrices do the sums and differences (:meth:`__init__`; O(n_phi²) multiply-adds,
        cheap at the n_phi ≤ 10 of up to 5 jets)."""
        big_p = self.n_phi
        sums, t2 = torch.split(self._phi_sum @ products, [3 * big_p, big_p], dim=0)
        # [|T|² i_x; (T·I) t_x; |T| (I × T)_x] -> [c; s; c + s]
        cs = self._phi_mix @ (sums * torch.cat([ixtx, torch.sqrt(t2)], dim=0))
        num, den = torch.split(torch.addmm(self._phi_bias, self._phi_square, cs * cs), 2 * big_p, dim=0)
        return num * scale / den


def _feature_dipoles(features: FeatureMap) -> list[Dipole]:
    """The dipoles whose recoil variables are the feature map's logarithmic columns, in column order."""
    dipoles, _ = enumerate_dipoles(features.pdg, features.n_in)
    return [d for fam in features._families for d in dipoles if d.family == fam]
