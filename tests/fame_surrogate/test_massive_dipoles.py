"""Massive Catani–Seymour dipoles (CDST, hep-ph/0201036) for tt̄ + jets: enumeration, the paper's formulas,
the m → 0 limit, soft and quasi-collinear limits against Sherpa 3.0.3, and the models on tt̄ momenta
(untrained, trained, ONNX)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from cs_kinematics import boost_z, pp_events
from massive_kinematics import cdst_ff, cdst_fi_qg, cdst_if, massive_rambo, tt_events

from fame_surrogate.cs_kernels import coupling, ff_dipole, fi_dipole, if_dipole
from fame_surrogate.dipoles import TOP_MASS, DipoleBasis, enumerate_dipoles, process_masses
from fame_surrogate.features import FeatureMap
from fame_surrogate.models import DipoleModel, MLPModel

GG_TTG = [21, 21, 6, -6, 21]
UU_TTG = [2, -2, 6, -6, 21]
GG_TTGG = [21, 21, 6, -6, 21, 21]
UU_TTGG = [2, -2, 6, -6, 21, 21]
UU_TTDD = [2, -2, 6, -6, 1, -1]
TT_PROCESSES = [GG_TTG, UU_TTG, GG_TTGG, UU_TTGG, UU_TTDD]


# --------------------------------------------------------------------------------------------------------
# enumeration


def test_process_masses_are_sherpas_top() -> None:
    assert TOP_MASS == 172.5  # Sherpa 3.0.3's start-up "Particle data" table: t 6 172.5
    assert process_masses([21, 21, 6, -6, 21, 1]) == [0.0, 0.0, 172.5, 172.5, 0.0, 0.0]
    assert process_masses([11, -11, 6, -6], {6: 173.0}) == [0.0, 0.0, 173.0, 173.0]


@pytest.mark.parametrize(
    ("pdg", "families"),
    [
        # FF: t→tg with t̄ spectator and back; FI: t, t̄ with both beams; IF/II: g→gg of each beam
        (GG_TTG, {"FF": 2, "FI": 4, "IF": 4, "II": 2}),
        (UU_TTG, {"FF": 2, "FI": 4, "IF": 4, "II": 2}),
        # the light pair d d̄ only: g → t t̄ is not singular (no FF/FI t t̄ pair, no IF g → t)
        (UU_TTDD, {"FF": 2, "FI": 2}),
        (GG_TTGG, {"FF": 10, "FI": 10, "IF": 12, "II": 4}),
    ],
)
def test_massive_enumeration_leaves_out_heavy_quark_pairs(pdg: list[int], families: dict[str, int]) -> None:
    dipoles, _ = enumerate_dipoles(pdg)
    assert Counter(d.family for d in dipoles) == families
    for d in dipoles:
        # a top is only ever a Q → Q g emitter or a spectator
        assert not (d.kind == "qqbar" and abs(pdg[d.i]) == 6)
        assert not (d.family in ("IF", "II") and abs(pdg[d.j]) == 6)
    # massless tops would have the g → t t̄ dipoles
    massless, _ = enumerate_dipoles(pdg, masses=[0.0] * len(pdg))
    assert len(massless) > len(dipoles)


# --------------------------------------------------------------------------------------------------------
# the kernels against CDST's formulas in the paper's variables (massive_kinematics, plain numpy)


@pytest.mark.parametrize("pdg", [GG_TTGG, UU_TTGG, UU_TTDD])
def test_massive_kernels_follow_cdst(pdg: list[int]) -> None:
    """Every massive dipole column equals CDST's (5.16), (5.18), (5.20), (5.50), (5.81)–(5.86) written with
    μ_n = m_n/√Q², y, z̃, v, ṽ, z_±, x, u on massive tt̄ + 2 jet points (the basis uses the invariant forms)."""
    ev = tt_events(2, 40, 3)
    basis = DipoleBasis(pdg)
    cols = basis(torch.from_numpy(ev)).numpy()
    m = basis.masses
    checked = Counter[str]()
    for c, d in enumerate(basis.dipoles):
        if d.family == "II" or (d.family == "FI" and m[d.i] == 0.0):
            continue  # no masses enter
        for e in range(len(ev)):
            p = ev[e]
            if d.family == "FF":
                ref = cdst_ff(d.kind, p[d.i], p[d.j], p[d.k], m[d.i], m[d.k])
            elif d.family == "FI":
                ref = cdst_fi_qg(p[d.i], p[d.j], p[d.k], m[d.i])
            else:
                ref = cdst_if(d.kind, p[d.i], p[d.j], p[d.k], m[d.k])
            assert cols[e, c] / coupling(d.kind, basis.alpha_s) == pytest.approx(ref, rel=1e-10), d.name
        checked[f"{d.family}_{d.kind}"] += 1
    assert checked  # the families with masses were checked
    if pdg == UU_TTDD:
        assert set(checked) == {"FF_qqbar"}
    else:
        assert {"FF_qg", "FF_gg", "FI_qg"} <= set(checked)


# --------------------------------------------------------------------------------------------------------
# the m → 0 limit


@pytest.mark.parametrize(
    ("family", "kinds"),
    [("FF", ["qg", "gg", "qqbar"]), ("FI", ["qg"]), ("IF", ["qg", "gq", "qq", "gg"])],
)
def test_massive_kernels_reduce_to_massless(family: str, kinds: list[str]) -> None:
    """On random massless kinematics: with m = 0 the CDST kernels equal the massless ones to rounding, and
    at small m they differ by O(m²) (the difference shrinks 10× when m² does)."""
    mom = torch.from_numpy(pp_events(200, 5, n_final=4))
    from fame_surrogate._ops import minkowski_gram

    g = minkowski_gram(mom)
    a, b, c = g[:, 2, 3], g[:, 2, 4], g[:, 3, 4]  # final-state triple (FF, FI use 2, 3 and spectator 4)
    if family == "FI":
        a, b, c = g[:, 2, 3], g[:, 2, 0], g[:, 3, 0]
    elif family == "IF":
        a, b, c = g[:, 0, 2], g[:, 0, 3], g[:, 2, 3]
    zero = torch.zeros(())
    for kind in kinds:
        if family == "FF":
            ref = ff_dipole(kind, a, b, c)

            def massive(m2: torch.Tensor, kind: str = kind) -> torch.Tensor:
                return ff_dipole(kind, a, b, c, m2 if kind == "qg" else zero, m2)

        elif family == "FI":
            ref = fi_dipole(kind, a, b, c)

            def massive(m2: torch.Tensor, kind: str = kind) -> torch.Tensor:
                return fi_dipole(kind, a, b, c, m2)

        else:
            ref = if_dipole(kind, a, b, c)

            def massive(m2: torch.Tensor, kind: str = kind) -> torch.Tensor:
                return if_dipole(kind, a, b, c, m2)

        at0 = massive(zero)
        assert torch.allclose(at0, ref, rtol=1e-12, atol=0.0), (family, kind)
        # m² = 1e-2 and 1e-3 GeV² (invariants ~1e2–1e4 GeV²)
        d1 = ((massive(torch.tensor(1e-2)) - ref) / ref).abs().max().item()
        d01 = ((massive(torch.tensor(1e-3)) - ref) / ref).abs().max().item()
        if family == "IF" and kind in ("qg", "gq"):
            assert d1 == 0.0 and d01 == 0.0  # no mass dependence (CDST 5.81, 5.82)
        else:
            assert 0.0 < d1 < 0.01, (family, kind, d1)
            assert d01 == pytest.approx(0.1 * d1, rel=0.05), (family, kind)


def test_basis_with_vanishing_top_mass_equals_massless_basis() -> None:
    """The DipoleBasis of g g → t t̄ g g with a vanishing top mass, on massless momenta, equals the massless
    basis (m_t = 0) column for column (names shared; the massless one has the extra g → t t̄ dipoles): to
    rounding at m_t = 1e-30 GeV, to O(m_t²) (≈ 3e-12 relative) at m_t = 1e-6 GeV."""
    mom = torch.from_numpy(pp_events(100, 6, n_final=4))
    zero = DipoleBasis(GG_TTGG, masses=[0.0] * 6)
    b = dict(zip(zero.names, zero(mom).T, strict=True))
    assert not zero.massive
    for m_t, rtol in ((1e-30, 1e-13), (1e-6, 1e-10)):
        tiny = DipoleBasis(GG_TTGG, masses=[0.0, 0.0, m_t, m_t, 0.0, 0.0])
        assert tiny.massive
        a = dict(zip(tiny.names, tiny(mom).T, strict=True))
        assert set(a) < set(b)
        for name, col in a.items():
            assert torch.allclose(col, b[name], rtol=rtol, atol=0.0), (m_t, name)


# --------------------------------------------------------------------------------------------------------
# colour correlators of the soft-limit test (independent SU(3) computation)


def test_uu_tt_colour_correlators() -> None:
    """T_i·T_k of u ū → t t̄ from explicit Gell-Mann matrices: c = t^a_{u ū} t^a_{t t̄} (all outgoing:
    0 = ū-type index of the incoming u, 1 = u, 2 = t, 3 = t̄), quark charge t^b, antiquark −(t^b)^T."""
    from sherpa_massive_limits import colour_uu_tt
    from su3 import generators

    t = generators()
    c = np.einsum("aij,akl->jikl", t, t)  # axes: 0 antiquark, 1 quark, 2 quark, 3 antiquark
    quark = [False, True, True, False]

    def charge(b: int, m: int) -> np.ndarray:
        gen = t[b] if quark[m] else -t[b].T
        return np.moveaxis(np.tensordot(gen, c, axes=([1], [m])), 0, m)

    norm = np.vdot(c, c).real
    tt = np.array(
        [
            [sum(np.vdot(charge(b, m), charge(b, n)).real for b in range(8)) / norm for n in range(4)]
            for m in range(4)
        ]
    )
    assert np.allclose(tt, colour_uu_tt(), atol=1e-12)
    assert np.allclose(tt.sum(1), 0.0, atol=1e-12)  # colour conservation


# --------------------------------------------------------------------------------------------------------
# soft and quasi-collinear limits against Sherpa (skipped without .venv-sherpa)


@pytest.fixture(scope="module")
def sherpa_massive(sherpa_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One Sherpa run: the limit points and 600 u ū → t t̄ g points (√ŝ = 1 TeV, jet p_T > 20 GeV)."""
    from sherpa_massive_limits import sherpa_massive_limit_ratios

    train = tt_events(1, 600, 7)
    report, extra = sherpa_massive_limit_ratios(
        sherpa_python, tmp_path_factory.mktemp("sherpa_massive"), {tuple(UU_TTG): list(train)}
    )
    return {"report": report, "train": train, "me2": extra[tuple(UU_TTG)]}


@pytest.mark.sherpa
def test_massive_dipoles_soft_limit_against_sherpa(sherpa_massive: dict[str, Any]) -> None:
    """u ū → t t̄ g with the gluon's energy λ·500 GeV: Σ (−T_i·T_k/C_F) D_ik |M_B|² / |M|² → 1 like λ (three
    directions); the massless kernels miss the tops' self-eikonal terms by several per cent."""
    r = sherpa_massive["report"]["soft g, uu->ttg"]
    dev3 = np.abs(np.array(r["0.001"]["ratio"]) - 1.0)
    dev4 = np.abs(np.array(r["0.0001"]["ratio"]) - 1.0)
    assert dev3.max() < 5e-4 and dev4.max() < 5e-5
    assert np.all(dev4 < 0.2 * dev3)  # the deviation is the O(λ) remainder
    assert np.min(np.abs(np.array(r["0.0001"]["massless_ratio"]) - 1.0)) > 0.02


@pytest.mark.sherpa
@pytest.mark.parametrize("case", ["qcoll g||t, uu->ttg", "qcoll g||t, gg->ttg"])
def test_massive_dipoles_quasi_collinear_limit_against_sherpa(
    sherpa_massive: dict[str, Any], case: str
) -> None:
    """The gluon quasi-collinear to the top (m_t/√ŝ = λ/2, 2 p_t·p_g = 4 m_t², z̃ = 0.3): the (t, g)
    dipoles times |M_B|² over Sherpa's |M|² → 1 like λ; without the CDST mass term −m²/(p_t·p_g) the ratio
    is ~0.68."""
    r = sherpa_massive["report"][case]
    dev2 = np.abs(np.array(r["0.01"]["ratio"]) - 1.0)
    dev3 = np.abs(np.array(r["0.001"]["ratio"]) - 1.0)
    assert dev3.max() < 0.01
    assert dev3.max() < 0.2 * dev2.max()
    assert abs(np.mean(r["0.001"]["ratio"]) - 1.0) < 2e-3  # azimuthal O(λ) terms average out
    assert np.all(np.abs(np.array(r["0.001"]["massless_ratio"]) - 1.0) > 0.2)


@pytest.mark.sherpa
def test_massive_spectator_initial_gluon_collinear_against_sherpa(sherpa_massive: dict[str, Any]) -> None:
    """g g → t t̄ g with the gluon collinear to incoming gluon 0 (x = 0.6; IF with the tops as spectators):
    φ-mean of the ratio → 1, its φ modulation is the basis's cos 2φ / sin 2φ."""
    r = sherpa_massive["report"]["IS g->gg, gg->ttg"]["1e-08"]
    assert r["phi_mean_ratio"] == pytest.approx(1.0, abs=2e-5)
    low, high = r["spin_avg_ratio_range"]
    assert high - low > 0.02
    assert r["phi_fit_max_residual"] < 1e-4


# --------------------------------------------------------------------------------------------------------
# models on tt̄ + jets momenta


@pytest.mark.parametrize("pdg", TT_PROCESSES)
def test_untrained_models_finite_on_tt_momenta(pdg: list[int]) -> None:
    ev = torch.from_numpy(tt_events(len(pdg) - 4, 64, 8))
    for model in (DipoleModel(pdg, hidden=(16, 16)), MLPModel(pdg, hidden=(16, 16))):
        assert model.fused is None  # massive: the per-family form at every batch size
        model.eval()
        with torch.no_grad():
            for batch in (ev[:1], ev[:4], ev):
                me2, std = model(batch)
                assert me2.dtype == torch.float64 and bool(torch.isfinite(me2).all())
                if isinstance(model, DipoleModel):  # the plain dipole sum times exp(0): positive
                    assert bool((me2 > 0).all())
                assert bool((std == 0).all())


def test_feature_map_massive_columns() -> None:
    """loggamma(i) = log(γ_i − 1) with γ_i the top's partonic-frame Lorentz factor, loggamma(2,3) =
    log(p_t·p_t̄/m² − 1), checked against the momenta boosted by hand."""
    ev = tt_events(1, 20, 9)
    fmap = FeatureMap(UU_TTG)
    assert fmap.massive
    x = fmap(torch.from_numpy(ev)).numpy()
    names = fmap.names
    p_in = ev[:, 0] + ev[:, 1]
    shat = p_in[:, 0] ** 2 - np.sum(p_in[:, 1:] ** 2, axis=1)
    for i in (2, 3):
        dot_in = ev[:, i, 0] * p_in[:, 0] - np.sum(ev[:, i, 1:] * p_in[:, 1:], axis=1)
        gamma = dot_in / np.sqrt(shat) / TOP_MASS
        assert np.allclose(x[:, names.index(f"loggamma({i})")], np.log(gamma - 1.0), rtol=1e-10)
    ptt = ev[:, 2, 0] * ev[:, 3, 0] - np.sum(ev[:, 2, 1:] * ev[:, 3, 1:], axis=1)
    assert np.allclose(x[:, names.index("loggamma(2,3)")], np.log(ptt / TOP_MASS**2 - 1.0), rtol=1e-10)
    assert names.index("loggamma(2,3)") in fmap.log_columns


def test_masses_from_a_dump_reach_the_trained_model() -> None:
    """A dump's ``meta["masses"]`` (Sherpa's top mass, here 173 GeV) sets the masses of the trained model's
    dipoles and features: its loggamma(i) is log(γ_i − 1) with γ_i = E_i/m_t of the top in the partonic
    frame, for events on the 173 GeV shell; without the record the defaults (172.5 GeV) stay."""
    from fame_surrogate.config import TrainConfig
    from fame_surrogate.dipoles import masses_from_meta
    from fame_surrogate.train import train_surrogate
    from lhe_tools import EventBatch

    sherpa = {"21": {"mass": 0.0, "width": 0.0}, "6": {"mass": 173.0, "width": 1.4},
              "-6": {"mass": 173.0, "width": 1.4}}
    assert masses_from_meta(GG_TTG, {"masses": sherpa}) == [0.0, 0.0, 173.0, 173.0, 0.0]
    assert masses_from_meta(GG_TTG, {}) is None
    with pytest.raises(ValueError, match="no valid mass for PDG id 21"):
        masses_from_meta(GG_TTG, {"masses": {"6": {"mass": 173.0}, "-6": {"mass": 173.0}}})
    with pytest.raises(ValueError, match="no valid mass for PDG id 6"):
        masses_from_meta(GG_TTG, {"masses": {**sherpa, "6": {"mass": float("nan")}}})
    ev = tt_events(1, 300, 5, mass=173.0)
    me2 = np.ones(len(ev))
    batch = EventBatch(ev, np.array(GG_TTG), np.ones(len(ev)), "2_3__G__G__t__tb__G", me2=me2,
                       meta={"masses": sherpa})
    config = TrainConfig(hidden=(8,), epochs=1, replicas=1, threads=1, max_seconds=None)
    for kind in ("dipole", "mlp"):
        member = train_surrogate(batch, dataclasses.replace(config, model=kind)).model.members[0]
        fmap = member.features
        assert fmap.masses == [0.0, 0.0, 173.0, 173.0, 0.0]
        if kind == "dipole":
            assert member.basis.masses == fmap.masses
        x = fmap(torch.from_numpy(ev)).numpy()
        p_in = ev[:, 0] + ev[:, 1]
        rapidity = 0.5 * np.log((p_in[:, 0] + p_in[:, 3]) / (p_in[:, 0] - p_in[:, 3]))
        boosted = np.stack([[boost_z(p, -y) for p in e] for e, y in zip(ev, rapidity, strict=True)])
        for i in (2, 3):
            want = np.log(boosted[:, i, 0] / 173.0 - 1.0)
            np.testing.assert_allclose(x[:, fmap.names.index(f"loggamma({i})")], want, rtol=1e-9)
    plain = EventBatch(ev, np.array(GG_TTG), np.ones(len(ev)), batch.process, me2=me2)
    assert train_surrogate(plain, config).model.members[0].features.masses[2] == TOP_MASS


def test_export_checks_parity_on_the_mass_shell(tmp_path: Path) -> None:
    """The export's default check points are on the tops' mass shell (so the parity check compares the
    function where it is used, not at massless momenta); check points where torch's |M|² is nowhere finite
    make the export fail instead of passing a check that compared nothing."""
    from fame_surrogate.export import export_onnx
    from fame_surrogate.onnx_meta import ContractError
    from fame_surrogate.onnx_parity import example_momenta
    from fame_surrogate.onnx_session import OnnxSurrogate

    torch.manual_seed(2)
    model = DipoleModel(UU_TTG, 2, hidden=(8,))
    model.fit_scalers(*model.inputs(torch.from_numpy(tt_events(1, 64, 4))), torch.ones(64))
    model.eval()
    pts = example_momenta(5, 16, model.masses).numpy()
    m2 = pts[..., 0] ** 2 - np.sum(pts[..., 1:] ** 2, axis=-1)
    np.testing.assert_allclose(m2[:, 2:4], TOP_MASS**2, rtol=1e-9)
    np.testing.assert_allclose(pts[:, 2:].sum(axis=1), np.tile([1000.0, 0, 0, 0], (16, 1)), atol=1e-8)
    path = export_onnx(model, tmp_path / "tt.onnx", {"process": "2_3__u__ub__t__tb__G"})
    got, _ = OnnxSurrogate(path).predict(pts)
    with torch.no_grad():
        want = model(torch.from_numpy(pts))[0].numpy()
    assert np.all(np.isfinite(want)) and np.allclose(got, want, rtol=1e-9, atol=0.0)
    with pytest.raises(ContractError, match="no finite"):
        export_onnx(model, tmp_path / "bad.onnx", {"process": "2_3__u__ub__t__tb__G"},
                    check_points=np.full((4, 5, 4), np.nan))
    assert not (tmp_path / "bad.onnx").exists()


def test_massive_rambo_on_shell() -> None:
    ev = massive_rambo([TOP_MASS, TOP_MASS, 0.0], 1000.0, 50, np.random.default_rng(1))
    m2 = ev[..., 0] ** 2 - np.sum(ev[..., 1:] ** 2, axis=-1)
    assert np.allclose(m2[:, :2], TOP_MASS**2, rtol=1e-10) and np.allclose(m2[:, 2], 0.0, atol=1e-6)
    assert np.allclose(ev.sum(1), [1000.0, 0.0, 0.0, 0.0], atol=1e-9)


@pytest.mark.sherpa
@pytest.mark.parametrize("kind", ["dipole", "mlp"])
def test_trained_tt_model_finite_and_onnx_parity(
    sherpa_massive: dict[str, Any], kind: str, tmp_path: Path
) -> None:
    """A small model trained on 600 Sherpa |M|² points of u ū → t t̄ g is finite on tt̄ momenta, learns
    (validation loss below the untrained one) and exports to ONNX with parity to torch at batch 1 and 200."""
    from fame_surrogate.config import TrainConfig
    from fame_surrogate.export import export_onnx
    from fame_surrogate.onnx_session import OnnxSurrogate
    from fame_surrogate.train import train_surrogate
    from lhe_tools import EventBatch

    mom = sherpa_massive["train"]
    me2 = np.asarray(sherpa_massive["me2"], dtype=np.float64)
    assert np.all(np.isfinite(me2)) and np.all(me2 > 0)
    batch = EventBatch(
        momenta=mom,
        pdg=np.array(UU_TTG, dtype=np.int32),
        weight=np.ones(len(mom)),
        process="2_3__u__ub__t__tb__G",
        me2=me2,
    )
    config = TrainConfig(model=kind, hidden=(32, 32), epochs=40, batch_size=64, replicas=1, seed=3, threads=1)
    res = train_surrogate(batch, config)
    model = res.model
    model.eval()
    check = tt_events(1, 200, 10)
    with torch.no_grad():
        pred, _ = model(torch.from_numpy(check))
    assert bool(torch.isfinite(pred).all()) and bool((pred > 0).all())
    hist = res.history[0]  # the one replica's epochs
    assert min(h["val_loss"] for h in hist) < 0.5 * hist[0]["val_loss"]
    path = export_onnx(
        model,
        tmp_path / f"tt_{kind}.onnx",
        {"process": batch.process, "sqrt_s": 1000.0},
        check_points=check[:8],
    )
    sur = OnnxSurrogate(path, expected_process=batch.process)
    got, _ = sur.predict(check)
    assert np.allclose(got, pred.numpy(), rtol=1e-9, atol=0.0)
    one, _ = sur.predict(check[:1])
    assert one[0] == pytest.approx(float(pred[0]), rel=1e-9)
