"""Exact vectorised decoding of fixed-format numbers (``[-]d.ddddE±dd``) from a byte buffer.

Most generators write momenta with a C or Fortran ``%.Ne`` format, so within one file every token of a column
has the same number N of digits after the point and a two-digit exponent.  For such tokens the value is
``m / 10**(N - e)`` with the integer mantissa ``m`` (at most 15 digits, hence exact in float64) and
``|N - e| <= 22`` (so ``10**(N - e)`` is exact too): one correctly rounded IEEE division, i.e. bit-identical
to ``strtod``/``float()``.  The fixed part of every token (integer digit, point, N digits, exponent) is
gathered as one row of a sliding-window view, so the work is a few passes over ``n * (N + 6)`` bytes.
Anything else makes :func:`decode_fixed` return ``None`` and the caller falls back to a general parser.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["decode_fixed"]

_POW10 = 10.0 ** np.arange(23)
_MAX_FRAC = 14


def decode_fixed(
    a: npt.NDArray[np.uint8], ts: npt.NDArray[np.int64], te: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64] | None:
    """Decode the tokens ``a[ts:te]`` if all have the form ``[+-]?\\d?\\.\\d{N}[eEdD][+-]\\d\\d``.

    Parameters
    ----------
    a : ndarray, uint8
        The text.
    ts, te : ndarray, int64, shape (n,)
        Token start and end (exclusive) offsets.

    Returns
    -------
    ndarray, float64, shape (n,), or None
        The values, bit-identical to ``float(token)``; None if any token does not fit the fixed format.
    """
    n = ts.size
    if n == 0:
        return np.zeros(0)
    # number of fraction digits N, from the first token
    end0 = int(te[0]) - 4
    n_frac = 0
    while n_frac < end0 - int(ts[0]) and 48 <= a[end0 - 1 - n_frac] <= 57:
        n_frac += 1
    if n_frac == 0 or n_frac > _MAX_FRAC:
        return None
    width = n_frac + 6  # integer digit, '.', N digits, 'e', sign, 2 exponent digits
    first = te - width
    # -1: sign and digit ('-0.5E+00'); 0: digit or sign ('0.5E+00', '-.5E+00'); 1: no integer part ('.5E+00')
    n_lead = ts - first
    if np.any(first < 0) or np.any(n_lead < -1) or np.any(n_lead > 1):
        return None
    rows = np.lib.stride_tricks.sliding_window_view(a, width)[first]
    d = rows - np.uint8(48)  # digits become 0..9, every other byte >= 10 (uint8 wrap-around)
    digits = d[:, 2 : 2 + n_frac]
    e_char = rows[:, n_frac + 2] | 0x20
    e_sign = rows[:, n_frac + 3]
    e_dig = d[:, n_frac + 4 :]
    if (
        int(digits.max()) > 9
        or int(e_dig.max()) > 9
        or not np.all(rows[:, 1] == 46)
        or not np.all((e_char == 101) | (e_char == 100))
        or not np.all((e_sign == 43) | (e_sign == 45))
    ):
        return None
    lead = rows[:, 0]
    lead_digit = (d[:, 0] <= 9) & (n_lead <= 0)
    lead_sign = (n_lead == 0) & ((lead == 43) | (lead == 45))
    if not np.all(lead_digit | lead_sign | (n_lead == 1)):
        return None
    neg = lead_sign & (lead == 45)
    if np.any(n_lead == -1):
        sign_char = a[np.maximum(first - 1, 0)]
        outer = n_lead == -1
        if not np.all(~outer | (lead_digit & ((sign_char == 43) | (sign_char == 45)))):
            return None
        neg |= outer & (sign_char == 45)
    weights = _POW10[n_frac - 1 :: -1]
    mant = digits.astype(np.float64) @ weights  # exact: every partial sum is an integer < 10**15
    mant += np.where(lead_digit, d[:, 0], 0).astype(np.float64) * _POW10[n_frac]
    expo = e_dig[:, 0].astype(np.int64) * 10 + e_dig[:, 1]
    shift = n_frac - np.where(e_sign == 45, -expo, expo)
    value = np.where(shift >= 0, mant / _POW10[np.clip(shift, 0, 22)], mant * _POW10[np.clip(-shift, 0, 22)])
    out: npt.NDArray[np.float64] = np.where(neg, -value, value)
    far = np.flatnonzero(np.abs(shift) > 22)  # 10**shift is not exact: convert these few tokens one by one
    if far.size > max(16, n // 100):
        return None
    for k in far.tolist():
        out[k] = float(a[ts[k] : te[k]].tobytes().replace(b"D", b"E").replace(b"d", b"e"))
    return out
