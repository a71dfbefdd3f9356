"""Sherpa's own MatrixElement() time, measured now on this machine, for the benchmarks that compare to it.

Runs the Sherpa-side dumper of ``sherpa_plugin.dump`` in eval mode (Sherpa 3.0.3's ``MEProcess`` in the
project's Python 3.12 environment, ``.venv-sherpa``) on given points of one process; Sherpa's process set-up
is not in the per-point figures.  Needs ``make sherpa-env``; raises ``SherpaNotAvailable`` without it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lhe_tools.batch import EventBatch
from lhe_tools.dump import read_dump, write_dump


def sherpa_me_time(
    name: str, momenta: np.ndarray, pdg: np.ndarray, me2: np.ndarray, meta: dict[str, Any]
) -> dict[str, float]:
    """Sherpa's time per ``MatrixElement()`` call on ``momenta`` (N, n, 4) of the process ``meta["process"]``.

    Returns
    -------
    dict
        ``ms_per_point`` (median wall time of one call), ``cpu_ms_per_point`` (mean thread CPU time of one
        call: robust against other load on a shared machine), ``wall_s_incl_setup`` (the whole run).
    """
    from sherpa_plugin.dump import DumpSettings, sherpa_dump

    with tempfile.TemporaryDirectory(prefix=f"sherpa_now_{name}_") as tmp:
        batch = EventBatch(momenta, pdg, np.ones(len(momenta)), str(meta["process"]), me2=me2, meta=meta)
        src = write_dump(Path(tmp) / "in.npz", batch)
        t0 = time.perf_counter()
        out = Path(tmp) / "out"
        res = sherpa_dump(out, DumpSettings(points=len(momenta)), input_dump=src).to_json()
        wall = time.perf_counter() - t0
        out_meta = read_dump(out / res["channels"][0]["file"]).meta  # the summary's paths are relative
        return {
            "ms_per_point": float(res["ms_per_point"]),
            "cpu_ms_per_point": float(out_meta.get("me_cpu_ms_per_point", float("nan"))),
            "wall_s_incl_setup": wall,
        }
