"""The surrogate's inputs (features, dipoles, φ columns, lepton-pair factor) in few, large graph nodes.

A generator calls the surrogate once per phase-space point, and ONNX Runtime then pays ≈ 0.5 µs per
executed node whatever its size (``benchmarks/bench_inference.py``: ``ort_batch1_overhead``), so at batch 1
the cost of a call is its node count.  :class:`FusedInputs` computes what
:class:`~fame_surrogate.features.FeatureMap` and :class:`~fame_surrogate.dipoles.DipoleBasis` compute, the
same functions up to rounding, with a node count that does not grow with the number of dipoles, dipole
families or splitting kinds:

1. one Gram computation of every pair the model reads (``gram_rows``, pair-major ``(m, B)``);
2. every *ratio of linear forms* of those invariants that the dipole kernels and the logarithmic features
   need, as one stack: three row gathers, signed and summed (``Σ_r σ_r s_{pair_r} + β``) for all numerators
   and denominators at once, then one division.  A dipole's kernel uses five ratios ``u_1..u_5`` (e.g. for
   FF, with a = p_i·p_j, b = p_i·p_k, c = p_j·p_k: b/(a+c), c/(b+c), c/(a+b), b/(b+c), 1; for FI/IF/II the
   recoil x, 1/x, z̃_i and the soft denominators), the features' logarithm arguments are y_{ij,k} = a/(a+b+c)
   (FF), (1 − x)/x as a ratio of invariants (FI/IF/II), 2 s_ij/ŝ and ŝ itself;
3. every spin-averaged kernel (FF, FI, IF, II; q→qg, g→gg, g→qq̄ and the initial-state kinds) is a linear
   combination of the monomials ``u_1..u_5`` and one product ``u_p u_q`` per dipole, with per-dipole constant
   coefficients that include the coupling: one multiply-and-sum for all dipoles, then ``· u_5 / a`` (u_5 is
   1/x for FI/IF/II and 1 for FF).

The rewrites are algebraic identities of the kernels (``dipoles.ff_dipole`` … ``ii_dipole``): for example
the FI recoil enters as 1/x = (p_ia + p_ja)/(p_ia + p_ja − p_ij) rather than as a division by
x = (p_ia + p_ja − p_ij)/(p_ia + p_ja), and a FI/IF/II feature's (1 − x)/x = p_ij/(p_ia + p_ja − p_ij) is
taken from the invariants instead of from a rounded x (near x → 1 the more accurate of the two).
``tests/fame_surrogate/test_fused.py`` checks them against the modules on real data.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._ops import _TINY, gram_index, pair_rows
from .dipoles import Dipole, DipoleBasis, coupling, enumerate_dipoles, invariant_pairs
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

    _gram_idx: Tensor
    _lf_matrix: Tensor
    _lf_const: Tensor
    _lf_floor: Tensor
    _kappa: Tensor
    _kappa0: Tensor
    _pq: Tensor
    _a_rows: Tensor
    _final_rows: Tensor
    _frame_rows: Tensor
    _frame_in: Tensor
    _frame_ref: Tensor
    _frame_sign: Tensor
    _phi_ij_rows: Tensor
    _phi_l: Tensor
    _phi_r: Tensor
    _phi_s: Tensor
    _phi_l2: Tensor
    _phi_r2: Tensor
    _phi_ij: Tensor
    _phi_coupling: Tensor
    _prop: Tensor

    @staticmethod
    def supports(features: FeatureMap) -> bool:
        """Whether the fused form covers this feature map (one or two incoming particles)."""
        return features.n_in in (1, 2)

    def __init__(
        self,
        features: FeatureMap,
        basis: DipoleBasis | None = None,
        propagator: LeptonPairPropagator | None = None,
    ) -> None:
        super().__init__()
        if not self.supports(features):
            raise ValueError(f"FusedInputs supports 1 or 2 incoming particles, not {features.n_in}")
        self.n_in = features.n_in
        self.n_particles = features.n_particles
        self.hadronic = features.hadronic
        self.pairs = fused_pairs(features, basis, propagator)
        self.register_buffer("_gram_idx", gram_index(self.pairs), persistent=False)
        nums: list[_Form] = []
        dens: list[_Form] = []
        floors: list[float] = []
        # dipole ratio slots: slot-major, (5 · n_dipoles) numerators and denominators
        dipoles = list(basis.dipoles) if basis is not None else []
        self.n_dipoles = len(dipoles)
        kappa: list[list[float]] = [[] for _ in range(7)]
        pq: list[list[int]] = [[], []]
        per_dipole = [_kernel(d, basis.alpha_s) for d in dipoles] if basis is not None else []
        for slot in range(5):
            for forms, _, _ in per_dipole:
                nums.append(forms[2 * slot])
                dens.append(forms[2 * slot + 1])
                floors.append(-float("inf"))
        for k, (_, coef, (p, q)) in enumerate(per_dipole):
            for t in range(7):
                kappa[t].append(coef[t])
            pq[0].append(p * self.n_dipoles + k)
            pq[1].append(q * self.n_dipoles + k)
        # feature logarithm arguments, in the feature map's column order
        fdips = _feature_dipoles(features)
        for d in fdips:
            num, den, floor = _feature_forms(d)
            nums.append(num)
            dens.append(den)
            floors.append(floor)
        shat = _shat_form(self.n_in)
        for i, j in _beamless_pairs(features.pdg, features.n_in):
            nums.append(_form(((i, j), 1.0), ((i, j), 1.0)))  # 2 s_ij, exactly
            dens.append(shat)
            floors.append(-float("inf"))
        nums.append(shat)  # log ŝ: ŝ/1
        dens.append(_form(const=1.0))
        floors.append(-float("inf"))
        self.n_log = len(nums) - 5 * self.n_dipoles
        self.pair = propagator.pair if propagator is not None and propagator.active else None
        if self.pair is not None:  # m_ll² = p_l² + p_l'² + 2 p_l·p_l'
            lm, lp = self.pair
            nums.append(_form(((lm, lm), 1.0), ((lp, lp), 1.0), ((lm, lp), 2.0)))
            dens.append(_form(const=1.0))
            floors.append(-float("inf"))
        forms = nums + dens
        # every numerator and denominator as one row of a constant matrix over the Gram rows: one MatMul
        # (ONNX Runtime: one Gemm) instead of gathering, signing and summing up to three rows per form
        matrix = torch.zeros(len(forms), len(self.pairs), dtype=torch.float64)
        for f, (terms, _) in enumerate(forms):
            for (i, j), sign in terms:
                matrix[f, pair_rows(self.pairs, [(i, j)])[0]] += sign
        self.register_buffer("_lf_matrix", matrix, persistent=False)
        self.register_buffer(
            "_lf_const", torch.tensor([c for _, c in forms], dtype=torch.float64)[:, None], persistent=False
        )
        #: whether any form has a floor (FI/IF/II features); without, the graph has no Max node
        self.floored = any(f > -float("inf") for f in floors)
        self.register_buffer(
            "_lf_floor", torch.tensor(floors + [-float("inf")] * len(dens), dtype=torch.float64)[:, None],
            persistent=False,
        )
        self.n_forms = len(nums)
        # monomial coefficients: rows [u_1..u_5, u_p u_q] (slot-major), and the constant
        self.register_buffer(
            "_kappa",
            torch.tensor([v for t in range(6) for v in kappa[t]], dtype=torch.float64)[:, None],
            persistent=False,
        )
        self.register_buffer(
            "_kappa0", torch.tensor(kappa[6], dtype=torch.float64)[:, None], persistent=False
        )
        self.register_buffer("_pq", torch.tensor(pq, dtype=torch.int64).reshape(-1), persistent=False)
        self.register_buffer(
            "_a_rows",
            torch.tensor(pair_rows(self.pairs, [invariant_pairs(d)[0] for d in dipoles]), dtype=torch.int64),
            persistent=False,
        )
        n = self.n_particles
        # the rows of component c of particle k in the features' and φ's frame: the momenta's (4k + c), or
        # for hadron collisions :meth:`_frame`'s blocks [E'; p_z'; p_x'; p_y'] of n rows each
        block = {0: 0, 3: 1, 1: 2, 2: 3}

        def row(k: int, c: int) -> int:
            return block[c] * n + k if self.hadronic else 4 * k + c

        final = [row(k, c) for k in range(self.n_in, n) for c in range(4)]
        self.register_buffer("_final_rows", torch.tensor(final, dtype=torch.int64), persistent=False)
        every = range(n)
        comp = {c: [4 * k + c for k in every] for c in range(4)}
        frame_rows = [comp[0] + comp[3], comp[3] + comp[0], comp[1] + comp[2], comp[2] + comp[1]]
        self.register_buffer("_frame_rows", torch.tensor(frame_rows, dtype=torch.int64), persistent=False)
        incoming = [[0, 3], [4, 7]][: self.n_in]
        self.register_buffer("_frame_in", torch.tensor(incoming, dtype=torch.int64), persistent=False)
        self.register_buffer(
            "_frame_ref",
            torch.tensor([4 * self.n_in + 1, 4 * self.n_in + 2], dtype=torch.int64),
            persistent=False,
        )
        frame_sign = torch.tensor([1.0] * n + [-1.0] * n, dtype=torch.float64)[:, None]
        self.register_buffer("_frame_sign", frame_sign, persistent=False)
        # spin correlations, as DipoleBasis computes them (in the canonical frame for hadron collisions)
        phis = list(basis.phi_pairs) if basis is not None else []
        self.n_phi = len(phis)
        # rows of (x, y, z) of every i, then of every j, component-major: I = [ix; iy; iz], J likewise
        ends_ij = ([p.i for p in phis], [p.j for p in phis])
        ij = [row(k, c) for ends in ends_ij for c in (1, 2, 3) for k in ends]
        self.register_buffer("_phi_ij_rows", torch.tensor(ij, dtype=torch.int64), persistent=False)
        # Q = [I; T] with T = I + J (blocks of n_phi rows: ix iy iz tx ty tz); the products summed over three
        # terms r into [|T|²; T·I; (I × T)_x] (rows r·3P + q·P): T_c T_c, T_c I_c, and iz ty − iy tz
        big_p = len(phis)
        ix, iy, iz, tx, ty, tz = (k * big_p for k in range(6))
        left = [[tx, tx, iz], [ty, ty, iy], [tz, tz, iz]]
        right = [[tx, ix, ty], [ty, iy, tz], [tz, iz, iz]]
        signs3 = [[1.0, 1.0, 1.0], [1.0, 1.0, -1.0], [1.0, 1.0, 0.0]]
        lrows = [left[r][q] + k for r in range(3) for q in range(3) for k in range(big_p)]
        rrows = [right[r][q] + k for r in range(3) for q in range(3) for k in range(big_p)]
        srows = [signs3[r][q] for r in range(3) for q in range(3) for _ in range(big_p)]
        self.register_buffer("_phi_l", torch.tensor(lrows, dtype=torch.int64), persistent=False)
        self.register_buffer("_phi_r", torch.tensor(rrows, dtype=torch.int64), persistent=False)
        self.register_buffer("_phi_s", torch.tensor(srows, dtype=torch.float64)[:, None], persistent=False)
        # W = [Q; |T|²; T·I; cross; |T|]: c = |T|² ix − tx (T·I), s = |T| cross, as products W[l2] W[r2]
        t2, dot, cross, tn = (k * big_p for k in range(6, 10))
        l2 = [b + k for b in (t2, tx, tn) for k in range(big_p)]
        r2 = [b + k for b in (ix, dot, cross) for k in range(big_p)]
        self.register_buffer("_phi_l2", torch.tensor(l2, dtype=torch.int64), persistent=False)
        self.register_buffer("_phi_r2", torch.tensor(r2, dtype=torch.int64), persistent=False)
        self.register_buffer(
            "_phi_ij",
            torch.tensor(pair_rows(self.pairs, [(p.i, p.j) for p in phis]), dtype=torch.int64),
            persistent=False,
        )
        self.register_buffer(  # coupling/2: (P/2)/s_ij is P/(2 s_ij) exactly
            "_phi_coupling",
            torch.tensor(
                [0.5 * coupling(p.kind, basis.alpha_s) for p in phis] if basis is not None else [],
                dtype=torch.float64,
            )[:, None],
            persistent=False,
        )

        # F(s) = Σ_r s |a_r/s + b_r/(s − m_Z² + i m_Z Γ_Z)|² (resonance.LeptonPairPropagator), summed in
        # closed form: A2/s + (α s + β)/((s − m_Z²)² + (m_Z Γ_Z)²) with A2 = Σ a², α = 2 Σ a Re b + Σ |b|²,
        # β = 2 m_Z Γ_Z Σ a Im b − 2 m_Z² Σ a Re b (|re|² + |im|² of every row expanded: the same function)
        consts = [0.0] * 5
        if propagator is not None and self.pair is not None:
            a, br, bi = (propagator.coeff[:, k] for k in range(3))
            mz2, mg = float(propagator.mz2), float(propagator.mg)
            ab, ai, bb = float((a * br).sum()), float((a * bi).sum()), float((br * br + bi * bi).sum())
            consts = [float((a * a).sum()), 2.0 * ab + bb, 2.0 * mg * ai - 2.0 * mz2 * ab, mz2, mg * mg]
        self.register_buffer("_prop", torch.tensor(consts, dtype=torch.float64)[:, None], persistent=False)

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
        m = len(self.pairs)
        prod = torch.index_select(flat, 0, self._gram_idx[0]) * torch.index_select(flat, 0, self._gram_idx[1])
        p0, p1, p2, p3 = torch.split(prod, m, dim=0)
        rows = p0 - p1 - p2 - p3  # (m, B), as gram_rows
        # every numerator and denominator: one constant matrix times the Gram rows, floors, one division
        forms = self._lf_matrix @ rows + self._lf_const
        if self.floored:
            forms = torch.maximum(forms, self._lf_floor)
        num, den = torch.split(forms, self.n_forms, dim=0)
        ratio = num / den
        n_prop = 1 if self.pair is not None else 0
        u, logarg, mll2 = torch.split(ratio, [5 * self.n_dipoles, self.n_log, n_prop], dim=0)
        shat = logarg[-1:]
        # features: final-state momenta / √ŝ (canonical frame for hadron collisions), then the logarithms
        fflat = self._frame(flat) if self.hadronic else flat
        final = torch.index_select(fflat, 0, self._final_rows) / torch.sqrt(shat)
        logs = torch.log(torch.clamp(logarg.to(dtype), min=_LOG_FLOOR))
        features = torch.cat([final.to(dtype), logs], dim=0)
        # dipoles: Σ κ · [u_1..u_5, u_p u_q] + κ_0, times u_5 (1/x or 1), over a
        dipoles = u[:0]
        if self.n_dipoles:
            nd = self.n_dipoles
            pq = torch.index_select(u, 0, self._pq)
            mono = torch.cat([u, pq[:nd] * pq[nd:]], dim=0) * self._kappa
            bracket = torch.sum(mono.reshape(6, nd, -1), dim=0) + self._kappa0
            a = torch.index_select(rows, 0, self._a_rows)
            dipoles = bracket * u[4 * nd :] / a
        phi = u[:0]
        if self.n_phi:
            phi = self._phi(fflat, rows)
        factor = None
        if self.pair is not None:
            a2, alpha, beta, mz2, mg2 = self._prop
            x = mll2 - mz2
            factor = a2 / mll2 + (alpha * mll2 + beta) / (x * x + mg2)
        return features, dipoles, phi, factor


    def _frame(self, flat: Tensor) -> Tensor:
        """``_ops.partonic_frame`` on the (4n, B) rows, as blocks [E'; p_z'; p_x'; p_y'] of n rows (the same
        products and sums: E' = γ(E − βp_z), p_z' = γ(p_z − βE), p_x' = cos·p_x + sin·p_y,
        p_y' = cos·p_y − sin·p_x)."""
        ez, ze, xy, yx = (torch.index_select(flat, 0, r) for r in self._frame_rows)
        p_in = torch.index_select(flat, 0, self._frame_in[0])
        for k in range(1, self.n_in):
            p_in = p_in + torch.index_select(flat, 0, self._frame_in[k])
        p_e, p_z = torch.split(p_in, 1, dim=0)
        beta = p_z / p_e
        gamma = 1.0 / torch.sqrt((1.0 - beta) * (1.0 + beta))
        boosted = gamma * (ez - beta * ze)
        ref = torch.index_select(flat, 0, self._frame_ref)
        inv_pt = torch.rsqrt(torch.clamp((ref * ref).sum(0, keepdim=True), min=_TINY))
        cos, sin = torch.split(ref * inv_pt, 1, dim=0)
        rotated = cos * xy + sin * self._frame_sign * yx
        return torch.cat([boosted, rotated], dim=0)

    def _phi(self, flat: Tensor, rows: Tensor) -> Tensor:
        """P cos 2φ_ij/(2 s_ij) and P sin 2φ_ij/(2 s_ij) (2 n_phi, B): ``_ops.cos_sin_2phi`` on stacked rows
        (the same products and sums, in the same order)."""
        big_p = self.n_phi
        i_rows, j_rows = torch.split(torch.index_select(flat, 0, self._phi_ij_rows), 3 * big_p, dim=0)
        q = torch.cat([i_rows, i_rows + j_rows], dim=0)  # [I; T]
        prod = torch.index_select(q, 0, self._phi_l) * torch.index_select(q, 0, self._phi_r) * self._phi_s
        sums = torch.sum(prod.reshape(3, 3 * big_p, -1), dim=0)  # [|T|²; T·I; (I × T)_x]
        w = torch.cat([q, sums, torch.sqrt(sums[:big_p])], dim=0)
        p_ix, p_dot, p_s = torch.split(
            torch.index_select(w, 0, self._phi_l2) * torch.index_select(w, 0, self._phi_r2), big_p, dim=0
        )
        c, s = p_ix - p_dot, p_s
        c2, s2, cs = torch.split(torch.cat([c, s, c], dim=0) * torch.cat([c, s, s], dim=0), big_p, dim=0)
        norm = torch.clamp(c2 + s2, min=_TINY)
        scale = self._phi_coupling / torch.index_select(rows, 0, self._phi_ij) / norm
        num = torch.cat([c2 - s2, 2.0 * cs], dim=0).reshape(2, big_p, -1)
        return (num * scale).reshape(2 * big_p, -1)


def _feature_dipoles(features: FeatureMap) -> list[Dipole]:
    """The dipoles whose recoil variables are the feature map's logarithmic columns, in column order."""
    dipoles, _ = enumerate_dipoles(features.pdg, features.n_in)
    return [d for fam in features._families for d in dipoles if d.family == fam]

