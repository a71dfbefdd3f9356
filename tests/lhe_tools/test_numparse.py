"""The fixed-format number decoder is bit-identical to float() and declines anything it cannot do exactly."""

from __future__ import annotations

import numpy as np
import pytest

from lhe_tools._lhe_events import _tokens
from lhe_tools._numparse import decode_fixed


def _tok(text: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    a = np.frombuffer(text, dtype=np.uint8)
    ts, te = _tokens(a)
    return a, ts, te, [float(text[s:e].replace(b"D", b"E")) for s, e in zip(ts, te, strict=True)]


def _fortran(v: float) -> str:
    """MadGraph-style Fortran E format: 0.ddddddddE+xx / -.ddddddddE+xx."""
    m, e = f"{v / 10:.7E}".split("E")
    digits = m.replace(".", "").lstrip("-")
    return ("-" if v < 0 else "0") + "." + digits + f"E{int(e) + 1:+03d}"


@pytest.mark.parametrize("fmt", ["%.10e", "%.11E", "% .8e", "%+.12e", "%.3E", "%.8D", "fortran"])
def test_bit_identical_to_float(fmt: str) -> None:
    rng = np.random.default_rng(7)
    vals = rng.standard_normal(5000) * 10.0 ** rng.integers(-9, 8, 5000)
    vals[:3] = [0.0, -0.0, 1e-30]  # zero, negative zero, and an exponent needing the per-token path
    if fmt == "fortran":
        words = [_fortran(v) for v in vals]
    else:
        words = [(fmt.replace("D", "E") % v).replace("E", "D" if "D" in fmt else "E") for v in vals]
    a, ts, te, ref = _tok((" ".join(words) + "\n").encode())
    out = decode_fixed(a, ts, te)
    assert out is not None
    np.testing.assert_array_equal(out, ref)
    assert np.array_equal(np.signbit(out), np.signbit(ref))


@pytest.mark.parametrize(
    "text",
    [
        b" 1.5 2.5e+00 ",
        b" 1.50e+00 2.5e+00 ",
        b" 1.5e+100 ",
        b" nan ",
        b" 1.5x+00 ",
        b" 12.5e+00 ",
        b" 1.5e+0 ",
    ],
)
def test_declines_what_it_cannot_decode_exactly(text: bytes) -> None:
    a = np.frombuffer(text, dtype=np.uint8)
    ts, te = _tokens(a)
    assert decode_fixed(a, ts, te) is None
