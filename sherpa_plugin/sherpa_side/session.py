"""The Sherpa session of the dumper: start-up, failure diagnosis, |M|^2 with timings, and each dump's meta.

Shared by the run modes (:mod:`.run_rambo`, :mod:`.run_eval`, :mod:`.run_events`, :mod:`.run_integrate`);
numpy, ``Sherpa`` and the standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .job import COLOR_SCHEMES, ChannelSummary, DumpJob
from .store import ChunkStore

GENERATOR = "Sherpa 3.0.3"
_PROGRESS_EVERY_S = 2.0


class DumperError(RuntimeError):
    """A problem this script found (bad job, missing channel, failing Sherpa call)."""


def say(msg: str) -> None:
    """One progress / status line on stderr."""
    print(f"fame-dumper: {msg}", file=sys.stderr, flush=True)


def sherpa_version() -> str:
    try:
        from importlib.metadata import version

        return f"3.0.3 (sherpa-mc {version('sherpa-mc')})"
    except Exception:  # metadata missing in a source build
        return "3.0.3"


# ----------------------------------------------------------------------------------------------------
# Sherpa
# ----------------------------------------------------------------------------------------------------


def start_sherpa(job: DumpJob, extra: list[str]) -> Any:
    """Write ``Sherpa.yaml`` into the work folder, chdir there, and initialise Sherpa."""
    import Sherpa

    workdir = job.paths[0]
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Sherpa.yaml").write_text(job.run_card, encoding="utf-8")
    os.chdir(workdir)
    argv = ["Sherpa", *[f"{k}: {v}" for k, v in job.overrides.items()], *extra]
    say(f"initialising Sherpa in {workdir} ({' '.join(argv[1:])})")
    gen = Sherpa.Sherpa(len(argv), argv)
    try:
        gen.InitializeTheRun()
    except BaseException as err:  # Sherpa's exceptions surface as SystemError without their text
        words = sherpa_diagnosis(Path(Sherpa.__file__).parent, argv[1:])
        raise DumperError(f"Sherpa could not initialise this run: {words or type(err).__name__}") from err
    return gen


def sherpa_diagnosis(site: Path, settings: list[str]) -> str:
    """Sherpa's own words on a failed initialisation: rerun the ``Sherpa`` executable with ``INIT_ONLY: 1``.

    The Python binding loses the text of Sherpa's C++ exceptions; the executable prints it
    (e.g. ``Normal exit thrown: No hard process found``).
    """
    import re
    import subprocess

    exe = site / "bin" / "Sherpa"
    if not exe.is_file():
        return ""
    args = [s for s in settings if not s.startswith("INIT_ONLY")] + ["INIT_ONLY: 1"]
    try:
        res = subprocess.run(
            [str(exe), *args], capture_output=True, text=True, timeout=300, check=False, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    ansi = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
    lines = [ansi.sub("", ln).strip() for ln in (res.stdout + res.stderr).splitlines()]
    lines = [ln for ln in lines if ln]
    found = []
    for i, ln in enumerate(lines):
        if re.search(r"thrown|[Ee]rror|exception|not found|[Ff]ailed", ln) and "frequency" not in ln:
            nxt = lines[i + 1] if i + 1 < len(lines) and ln.endswith(":") else ""
            found.append(f"{ln} {nxt}".strip())
    return "; ".join(dict.fromkeys(found))[:2000]


class MEEvaluator:
    """One ``MEProcess`` per channel, created on first use; |M|^2 at given momenta with timings."""

    def __init__(self, gen: Any) -> None:
        self.gen = gen
        self.procs: dict[str, Any] = {}
        self.last_cpu_ms = np.empty(0)

    def process(self, name: str, pdg: list[int], n_in: int) -> Any:
        if name not in self.procs:
            import Sherpa

            say(f"MEProcess for {name} (pdg {pdg})")
            proc = Sherpa.MEProcess(self.gen)
            for p in pdg[:n_in]:
                proc.AddInFlav(int(p))
            for p in pdg[n_in:]:
                proc.AddOutFlav(int(p))
            try:
                proc.Initialize()
            except BaseException as err:
                raise DumperError(
                    f"MEProcess.Initialize failed for {name} (pdg {pdg}): {type(err).__name__}: {err}. "
                    "The channel must be one Sherpa built from the run card's PROCESSES, in Sherpa's order"
                ) from err
            self.procs[name] = proc
        return self.procs[name]

    def evaluate(
        self, name: str, pdg: list[int], n_in: int, momenta: np.ndarray, colour_point: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """|M|^2 (N,) and the wall time of each ``MatrixElement()`` call in ms (N,).

        The CPU (thread) time of the calls, robust against other load on the machine, is kept in
        ``self.last_cpu_ms`` (N,).  ``colour_point`` (colour sampling, ``COLOR_SCHEME: 2``): draw a colour
        configuration with ``GenerateColorPoint()`` before each call (not timed); |M|^2 is then that of
        one colour configuration, without the colour weight.
        """
        proc = self.process(name, pdg, n_in)
        n = len(momenta)
        me2 = np.empty(n)
        ms = np.empty(n)
        cpu = np.empty(n)
        clock, cpu_clock = time.perf_counter, time.thread_time
        rows = momenta.tolist()
        for i in range(n):
            proc.SetMomenta(rows[i])
            if colour_point:
                proc.GenerateColorPoint()
            c0 = cpu_clock()
            t0 = clock()
            val = proc.MatrixElement()
            ms[i] = (clock() - t0) * 1e3
            cpu[i] = (cpu_clock() - c0) * 1e3
            me2[i] = val
        self.last_cpu_ms = cpu
        bad = np.flatnonzero(~np.isfinite(me2))
        if len(bad):
            raise DumperError(
                f"{name}: MatrixElement() gave {me2[bad[0]]} at point {int(bad[0])} of this chunk"
            )
        return me2, ms

    def test_timing(self, name: str, pdg: list[int], n_in: int, sqrt_s: float, n: int) -> float:
        """Median ms of ``MatrixElement()`` at ``n`` of Sherpa's own RAMBO test points (no cuts)."""
        proc = self.process(name, pdg, n_in)
        ms = np.empty(n)
        cpu = np.empty(n)
        for i in range(n):
            proc.TestPoint(float(sqrt_s))
            c0 = time.thread_time()
            t0 = time.perf_counter()
            proc.MatrixElement()
            ms[i] = (time.perf_counter() - t0) * 1e3
            cpu[i] = (time.thread_time() - c0) * 1e3
        self.last_cpu_ms = cpu
        return float(np.median(ms))


def sherpa_masses(pdg: list[int]) -> dict[str, dict[str, float]]:
    """Mass and width (GeV) that Sherpa's matrix elements use for each particle of a channel (after init),
    keyed by the PDG id as a string: e.g. the top's default mass for tt̄ + jets."""
    import Sherpa

    out: dict[str, dict[str, float]] = {}
    for kf in dict.fromkeys(int(p) for p in pdg):
        flav = Sherpa.Flavour(abs(kf), kf < 0)
        out[str(kf)] = {"mass": float(flav.Mass()), "width": float(flav.Width())}
    return out


def base_meta(job: DumpJob, name: str, pdg: list[int], n_in: int) -> dict[str, Any]:
    """The ``meta`` every dump of ``job`` carries (SPEC §3.2), before the run mode adds its figures."""
    value = COLOR_SCHEMES[job.color_scheme]
    return {
        "format": "fame-dump/1",
        "process": name,
        "pdg": pdg,
        "n_in": n_in,
        "generator": GENERATOR,
        "sherpa_version": sherpa_version(),
        "interface": f"Sherpa Python MEProcess: SetMomenta + MatrixElement() with COLOR_SCHEME {value}",
        "run_card": job.run_card,
        "overrides": job.overrides,
        "sqrt_s": job.sqrt_s,
        "beams": list(job.beams),
        "cuts": job.cuts,
        "color_scheme": value,
        "seed": job.seed,
        "masses": sherpa_masses(pdg),
        "me_ms_note": "median wall time of one MEProcess.MatrixElement() call (ms), SetMomenta excluded",
    }


def ms_stats(timings: list[dict[str, Any]], key: str = "me_ms") -> float:
    """The point-weighted mean over the chunks' ``timings`` of the figure ``key`` (ms); NaN without any."""
    vals = [t[key] for t in timings if t.get(key) is not None]
    weights = [t.get("n", 1) for t in timings if t.get(key) is not None]
    return float(np.average(vals, weights=weights)) if vals else float("nan")


class Progress:
    """Throttled progress lines."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, msg: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= _PROGRESS_EVERY_S:
            say(msg)
            self.last = now


#: a channel Sherpa built: name, PDG ids in Sherpa's order, number of incoming particles
Built = tuple[str, list[int], int]


@dataclass(frozen=True)
class RunContext:
    """What every run mode works with: the job, the |M|^2 evaluator, Sherpa's channels, the chunk store."""

    job: DumpJob
    me: MEEvaluator
    built: list[Built]
    store: ChunkStore

    def selected(self) -> list[Built]:
        """The job's ``channels`` among those Sherpa built (all of them when the job lists none)."""
        return select_channels(self.job, self.built)


def select_channels(job: DumpJob, built: list[Built]) -> list[Built]:
    """The job's ``channels`` among ``built``, in the job's order; all of ``built`` when it lists none."""
    wanted = job.channels
    if not wanted:
        return built
    names = {b[0]: b for b in built}
    missing = [w for w in wanted if w not in names]
    if missing:
        raise DumperError(
            f"channel(s) {missing} not built by Sherpa from this run card; built: {sorted(names)}"
        )
    return [names[w] for w in wanted]


def summary_from_file(path: Path) -> ChannelSummary:
    """The summary of a finished dump ``path``, from its ``meta``."""
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"][()]))
        n = int(npz["momenta"].shape[0])
    return ChannelSummary(
        process=meta["process"],
        pdg=tuple(int(p) for p in meta["pdg"]),
        points=n,
        file=str(path),
        me_ms_per_point=meta.get("me_ms_per_point"),
        ps_ms_per_point=meta.get("ps_ms_per_point"),
        me_cpu_ms_per_point=meta.get("me_cpu_ms_per_point"),
    )


