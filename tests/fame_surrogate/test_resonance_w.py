"""The W factor of :mod:`fame_surrogate.resonance` (issue 22) against Sherpa's exact |M|² of q q̄' → ℓν.

Truth: for u d̄ → e+ ν_e (and its charge conjugate d ū → e- ν̄_e), averaged over spins and colours,
|M|² = e⁴ F_W(s) u²/(3 s) with u = (p_q − p_ℓ̄)² (ℓ̄: the outgoing antilepton, e+ or ν̄): the left-handed
current's 16 (p_q·p_ℓ̄)(p_q̄·p_ℓ) over the W propagator.  Sherpa's ``MEProcess`` (Gμ scheme, complex-mass
W) evaluates it at momenta built here, across m_ℓν from 20 to 500 GeV and through the W pole, so the test
checks the Breit–Wigner's shape (the width scheme, M_W, Γ_W) and the absolute coupling at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from two_body import two_body

from fame_surrogate.me import EWParams
from fame_surrogate.resonance import LeptonPairPropagator, lepton_neutrino, lepton_pair
from lhe_tools.dump import read_dump
from lhe_tools.fourvec import mdot
from sherpa_plugin.dump import DumpSettings, sherpa_dump


def test_w_pairs_are_found_and_z_pairs_keep_their_factor() -> None:
    assert lepton_neutrino([2, -1, -11, 12], 2) == (2, 3)
    assert lepton_neutrino([21, 1, 11, -12, 21, 21, 2], 2) == (2, 3)
    assert lepton_neutrino([21, 2, 12, -11, 21, 1], 2) == (3, 2)  # any order
    assert lepton_neutrino([2, -1, -13, 14, 21], 2) == (2, 3)
    assert lepton_neutrino([2, -1, -11, 14], 2) is None  # lepton number of each generation
    assert lepton_neutrino([2, -1, 11, 12], 2) is None  # e- ν: lepton number 2, not a W decay
    assert lepton_neutrino([11, -11, 1, -1], 2) is None  # lepton beams
    assert lepton_neutrino([2, -2, 11, -11], 2) is None
    assert LeptonPairPropagator([2, -1, -11, 12, 21], 2).kind == "W"
    assert LeptonPairPropagator([2, -2, 11, -11, 21], 2).kind == "Z"
    assert LeptonPairPropagator([11, -11, 1, -1, 21], 2).kind is None
    assert lepton_pair([2, -1, -11, 12], 2) is None


def test_w_factor_shape_and_pole() -> None:
    # F_W(s) = s |b|²/((s − M²)² + M²Γ²): peaks at the W mass, falls like 1/s far above it
    ew = EWParams()
    sqrt_s = np.array([40.0, ew.mw, 200.0, 2000.0])
    p = two_body(sqrt_s, np.zeros(4), np.zeros(4))[:, [0, 1, 2, 3]]
    f = LeptonPairPropagator([2, -1, -11, 12], 2, ew)(torch.tensor(p)).numpy()
    b2 = abs(1 / (2 * ew.sw2)) ** 2
    s = sqrt_s**2
    np.testing.assert_allclose(f, s * b2 / ((s - ew.mw**2) ** 2 + (ew.mw * ew.gamma_w) ** 2), rtol=1e-13)
    assert f[1] > 100 * max(f[0], f[2])


def test_fused_inputs_carry_the_w_factor() -> None:
    # the fused path (one closed form for every factor) equals the module for a W + 2 jets process
    from cs_kinematics import pp_events

    from fame_surrogate.models import DipoleModel

    pdg = [2, -1, -11, 12, 21, 21]
    p = torch.tensor(pp_events(64, 7, n_final=4))
    model = DipoleModel(pdg, 2, hidden=(8,))
    assert model.fused is not None and model.propagator.kind == "W"
    _, _, factor = model.pair_inputs(p, torch.float64)
    assert factor is not None
    torch.testing.assert_close(factor[0], model.propagator(p), rtol=1e-12, atol=0.0)


@pytest.mark.sherpa
@pytest.mark.parametrize(
    ("pdg", "anti"),
    [([2, -1, -11, 12], 2), ([1, -2, 11, -12], 3)],  # u d̄ → e+ ν_e; d ū → e- ν̄_e (anti: ℓ̄'s index)
)
def test_exact_w_me_over_factor_is_flat_in_the_pair_mass(
    sherpa_python: Path, tmp_path: Path, pdg: list[int], anti: int
) -> None:
    rng = np.random.default_rng(22)
    sqrt_s = np.concatenate([np.geomspace(20.0, 500.0, 60), 80.379 + np.linspace(-8.0, 8.0, 41)])
    cos = np.full(len(sqrt_s), 0.3)  # fixed angle ...
    cos[::3] = rng.uniform(-0.95, 0.95, len(cos[::3]))  # ... and some others
    p = two_body(sqrt_s, cos, rng.uniform(0, 2 * np.pi, len(sqrt_s)))
    src = tmp_path / "in.npz"
    meta = {"n_in": 2, "sqrt_s": 13000.0}
    np.savez(src, momenta=p, pdg=np.array(pdg, dtype=np.int32), meta=np.array(json.dumps(meta)))
    res = sherpa_dump(tmp_path / "out", DumpSettings(points=0), input_dump=src, sherpa_python=sherpa_python)
    (ch,) = res.channels
    batch = read_dump(tmp_path / "out" / ch.file)
    np.testing.assert_array_equal(batch.momenta, p)
    assert batch.me2 is not None
    ew = EWParams()
    factor = LeptonPairPropagator(pdg, 2, ew)(torch.tensor(p)).numpy()
    s = sqrt_s**2
    u = -2 * mdot(p[:, 0], p[:, anti])
    ratio = batch.me2 * 3 * s / (ew.e2**2 * factor * u**2)
    # F carries every bit of the m_ℓν dependence, the absolute coupling included
    np.testing.assert_allclose(ratio, 1.0, rtol=1e-9)
    assert factor.max() / factor.min() > 100  # and the scan crosses the resonance
