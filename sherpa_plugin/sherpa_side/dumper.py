"""The Sherpa-side dumper: ``python -m sherpa_side.dumper JOB.json`` under Sherpa's own Python.

Imports only numpy, ``Sherpa`` (PyPI ``sherpa-mc``) and the standard library.  The job (JSON, written by
:mod:`sherpa_plugin.dump`) says:

``mode``
    ``"rambo"``: lepton beams; flat RAMBO points at fixed ``sqrt_s`` with the global cut s_ij > ``y_cut``·s,
    |M|^2 by ``MEProcess`` for every channel Sherpa built (or the ``channels`` listed).
    ``"eval"``: |M|^2 by ``MEProcess`` at the momenta of the fame dump ``input`` (pdg in Sherpa's order).
    ``"events"``: hadron (or any) beams; Sherpa's own weighted event generation (importance-sampled phase
    space, PDFs, flux: full weight w, x1, x2, scales, trials) and |M|^2 by ``MEProcess`` at each event, or
    (``me_check_every`` N > 1) Sherpa's own event ``MEWeight``, checked against ``MEProcess`` at every N-th
    event: that halves the cost where the ME dominates (Z+5 jets: ≈ 55 ms per colour-summed ME).
    With ``color_scheme`` ``"sample"`` (Sherpa's ``COLOR_SCHEME: 2``) Sherpa samples one colour configuration
    per event: ``me2`` is then always Sherpa's event ``MEWeight`` (|M|^2 of the sampled colours times the
    colour integrator's weight, an unbiased estimate of the colour sum), and the every-N-th MEProcess call
    only times one colour-sampled ``MatrixElement()`` (after ``GenerateColorPoint()``): under colour
    sampling MEProcess returns |M|^2 of the colours set on its amplitude, not the sum.
    ``"timing"``: no dumps; only the ``timing_points`` timings of every channel Sherpa built.
    ``"integrate"``: no dumps; Sherpa integrates the run card (its grids land in ``workdir/Results.zip``)
    and the summary lists the channels it built with their integrated cross sections; generation jobs
    (``fame sherpa dump --jobs``) then start from that integration.
``workdir``, ``out``, ``result``
    Sherpa's run folder (``Sherpa.yaml``, ``Process/``, ``Results.zip``), the dump folder (one
    ``<channel>.npz`` per channel), and the summary JSON written last.
``run_card``, ``overrides``
    The run card text and extra ``KEY: value`` settings passed on Sherpa's command line.
``points``, ``chunk``, ``seed``, ``sqrt_s``, ``y_cut``, ``beams``, ``cuts``, ``timing_points``,
``me_check_every``, ``color_scheme``
    Sizes, seeds and the physics settings recorded in every dump's ``meta``.

Progress goes to stderr as ``fame-dumper: …`` lines; Sherpa's own log goes to stdout.  Exit status 0 on
success, 3 on an error this script detected (its message is the last ``fame-dumper: error:`` line).  Sherpa's
C++ aborts end the interpreter with a signal; the supervising side reports Sherpa's last words then.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from . import flavours, rambo
from .store import ChunkStore, atomic_write_text

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


def start_sherpa(job: dict[str, Any], extra: list[str]) -> Any:
    """Write ``Sherpa.yaml`` into the work folder, chdir there, and initialise Sherpa."""
    import Sherpa

    workdir = Path(job["workdir"])
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Sherpa.yaml").write_text(job["run_card"], encoding="utf-8")
    os.chdir(workdir)
    argv = ["Sherpa", *[f"{k}: {v}" for k, v in job.get("overrides", {}).items()], *extra]
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


#: Sherpa's ``COLOR_SCHEME`` values (PHASIC::cls::scheme: 1 = sum, 2 = sample) by the job's name
COLOR_SCHEMES: dict[str, int] = {"sum": 1, "sample": 2}


def color_scheme(job: dict[str, Any]) -> str:
    """The job's colour treatment, ``"sum"`` (default) or ``"sample"``."""
    scheme = str(job.get("color_scheme", "sum"))
    if scheme not in COLOR_SCHEMES:
        raise DumperError(f"job color_scheme={scheme!r}; expected one of {sorted(COLOR_SCHEMES)}")
    return scheme


def base_meta(job: dict[str, Any], name: str, pdg: list[int], n_in: int) -> dict[str, Any]:
    value = COLOR_SCHEMES[color_scheme(job)]
    return {
        "format": "fame-dump/1",
        "process": name,
        "pdg": pdg,
        "n_in": n_in,
        "generator": GENERATOR,
        "sherpa_version": sherpa_version(),
        "interface": f"Sherpa Python MEProcess: SetMomenta + MatrixElement() with COLOR_SCHEME {value}",
        "run_card": job["run_card"],
        "overrides": job.get("overrides", {}),
        "sqrt_s": job.get("sqrt_s"),
        "beams": job.get("beams"),
        "cuts": job.get("cuts", {}),
        "color_scheme": value,
        "seed": job.get("seed", 0),
        "masses": sherpa_masses(pdg),
        "me_ms_note": "median wall time of one MEProcess.MatrixElement() call (ms), SetMomenta excluded",
    }


def _ms_stats(timings: list[dict[str, Any]], key: str = "me_ms") -> float:
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


# ----------------------------------------------------------------------------------------------------
# modes
# ----------------------------------------------------------------------------------------------------


def _select(job: dict[str, Any], built: list[tuple[str, list[int], int]]) -> list[tuple[str, list[int], int]]:
    wanted = job.get("channels")
    if not wanted:
        return built
    names = {b[0]: b for b in built}
    missing = [w for w in wanted if w not in names]
    if missing:
        raise DumperError(
            f"channel(s) {missing} not built by Sherpa from this run card; built: {sorted(names)}"
        )
    return [names[w] for w in wanted]


def _beam_momenta(pdg: list[int], n_in: int, beams: list[int], sqrt_s: float) -> np.ndarray:
    """Incoming momenta (n_in, 4): the particle matching beams[0] along +z, the other along -z."""
    e = sqrt_s / 2.0
    plus = next((i for i in range(n_in) if pdg[i] == beams[0]), 0)
    out = np.zeros((n_in, 4))
    for i in range(n_in):
        sign = 1.0 if i == plus else -1.0
        out[i] = (e, 0.0, 0.0, sign * e)
    return out


def run_rambo(
    job: dict[str, Any], me: MEEvaluator, built: list[tuple[str, list[int], int]]
) -> dict[str, Any]:
    store = ChunkStore(Path(job["out"]))
    sqrt_s = float(job["sqrt_s"])
    y_cut = job.get("y_cut")
    total, chunk, seed = int(job["points"]), int(job.get("chunk", 20000)), int(job.get("seed", 0))
    progress = Progress()
    results = []
    for name, pdg, n_in in _select(job, built):
        final_path = store.final_path(name)
        if final_path.is_file():
            say(f"{name}: {final_path} already complete, skipped")
            results.append(_summary_from_file(final_path))
            continue
        n_out = len(pdg) - n_in
        beams = _beam_momenta(pdg, n_in, job.get("beams") or pdg[:n_in], sqrt_s)
        done = len(store.done_parts(name))
        n_chunks = -(-total // chunk)
        for k in range(done, n_chunks):
            size = min(chunk, total - k * chunk)
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), k])
            final, drawn = rambo.generate(n_out, sqrt_s, y_cut, size, rng)
            mom = np.concatenate([np.broadcast_to(beams, (size, n_in, 4)), final], axis=1)
            me2, ms = me.evaluate(name, pdg, n_in, mom)
            cols = {"momenta": mom, "me2": me2, "ps_weight": np.full(size, rambo.rambo_weight(n_out, sqrt_s))}
            store.write_part(
                name,
                k,
                cols,
                {
                    "n": size,
                    "drawn": drawn,
                    "me_ms": float(np.median(ms)),
                    "me_cpu_ms": float(np.mean(me.last_cpu_ms)),
                },
            )
            progress(
                f"{name}: {min((k + 1) * chunk, total)}/{total} points, {np.median(ms):.4f} ms/point",
                force=k == n_chunks - 1,
            )
        _, timings = store.load(name)
        drawn = sum(t["drawn"] for t in timings)
        meta = base_meta(job, name, pdg, n_in)
        meta.update(
            me_ms_per_point=_ms_stats(timings),
            me_cpu_ms_per_point=_ms_stats(timings, "me_cpu_ms"),
            cut_efficiency=total / drawn,
            n_generated_rambo=drawn,
            ps_weight=rambo.rambo_weight(n_out, sqrt_s),
            ps_generator="massless RAMBO (numpy, flat), sqrt_s fixed; points failing the cut are discarded "
            "before the matrix element is evaluated",
            rambo_weight_convention="w = (2 pi)^(4-3n) (pi/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!); "
            "sigma = (1/(2 s)) * sum(w * me2) / N_generated",
            y_cut=y_cut,
        )
        path = store.finish(name, pdg, meta)
        results.append(_summary_from_file(path))
    store.cleanup()
    return {"channels": results}


def run_eval(job: dict[str, Any], me: MEEvaluator, built: list[tuple[str, list[int], int]]) -> dict[str, Any]:
    src = Path(job["input"])
    with np.load(src, allow_pickle=False) as npz:
        mom = np.asarray(npz["momenta"], dtype=np.float64)
        pdg = [int(p) for p in npz["pdg"]]
        extra = {k: npz[k] for k in npz.files if k not in ("momenta", "pdg", "me2", "meta")}
        in_meta = json.loads(str(npz["meta"][()])) if "meta" in npz.files else {}
    n_in = int(in_meta.get("n_in", 2))
    name = flavours.channel_name(pdg, n_in)
    names = [b[0] for b in built]
    if name not in names:
        raise DumperError(
            f"{src}: its pdg {pdg} in the stored order gives the channel {name}, which Sherpa did not build "
            f"(built: {names}); the particle order must be Sherpa's"
        )
    store = ChunkStore(Path(job["out"]))
    total, chunk = len(mom), int(job.get("chunk", 20000))
    progress = Progress()
    n_chunks = -(-total // chunk)
    for k in range(len(store.done_parts(name)), n_chunks):
        sl = slice(k * chunk, min(total, (k + 1) * chunk))
        me2, ms = me.evaluate(name, pdg, n_in, mom[sl])
        cols: dict[str, np.ndarray] = {"momenta": mom[sl], "me2": me2}
        cols.update(
            {key: np.asarray(v[sl], np.float64) for key, v in extra.items() if np.shape(v) == (total,)}
        )
        store.write_part(
            name,
            k,
            cols,
            {"n": len(me2), "me_ms": float(np.median(ms)), "me_cpu_ms": float(np.mean(me.last_cpu_ms))},
        )
        progress(f"{name}: {sl.stop}/{total} points, {np.median(ms):.4f} ms/point", force=k == n_chunks - 1)
    _, timings = store.load(name)
    meta = base_meta(job, name, pdg, n_in)
    meta.update(
        me_ms_per_point=_ms_stats(timings),
        me_cpu_ms_per_point=_ms_stats(timings, "me_cpu_ms"),
        source_input=str(src),
        input_meta={k: in_meta[k] for k in ("process", "generator", "sqrt_s", "cuts") if k in in_meta},
    )
    path = store.finish(name, pdg, meta)
    store.cleanup()
    return {"channels": [_summary_from_file(path)]}


def _signal_particles(blob: Any) -> tuple[list[int], np.ndarray, list[int], np.ndarray]:
    def grab(parts: list[Any]) -> tuple[list[int], np.ndarray]:
        ids, moms = [], []
        for p in parts:
            fl = p.Flav()
            kf = int(fl.Kfcode())
            ids.append(-kf if fl.IsAnti() else kf)
            m = p.Momentum()
            moms.append((m[0], m[1], m[2], m[3]))
        return ids, np.array(moms, dtype=np.float64)

    pin, min_ = grab([blob.InPart(i) for i in range(blob.NInP())])
    pout, mout = grab([blob.OutPart(i) for i in range(blob.NOutP())])
    return pin, min_, pout, mout


def _order(pdg: list[int], n_in: int, ids_in: list[int], ids_out: list[int]) -> list[int]:
    """Indices into ins+outs putting the event's particles in the channel's (Sherpa's) order."""
    pools = [list(range(len(ids_in))), [len(ids_in) + j for j in range(len(ids_out))]]
    ids = ids_in + ids_out
    order = []
    for slot, want in enumerate(pdg):
        pool = pools[0 if slot < n_in else 1]
        idx = next(i for i in pool if ids[i] == want)
        pool.remove(idx)
        order.append(idx)
    return order


def run_events(
    job: dict[str, Any], me: MEEvaluator, built: list[tuple[str, list[int], int]]
) -> dict[str, Any]:
    store = ChunkStore(Path(job["out"]))
    sqrt_s = float(job["sqrt_s"])
    total, chunk = int(job["points"]), int(job.get("chunk", 5000))
    every = int(job.get("me_check_every", 1))
    if every < 1:
        raise DumperError(f"job me_check_every={every}; expected a positive integer")
    # colour sampling: MEProcess gives one colour configuration's |M|^2, so it times the ME but cannot
    # check Sherpa's MEWeight (the sampled colours' |M|^2 times the colour weight), which is the me2 then
    sample = color_scheme(job) == "sample"
    by_key = {(tuple(sorted(p[:n])), tuple(sorted(p[n:]))): (name, p, n) for name, p, n in built}
    markers = store.done_chunks()
    store.drop_incomplete(len(markers))
    done_events = sum(m["events"] for m in markers)
    gen = me.gen
    gen.InitializeTheEventHandler()
    progress = Progress()
    k = len(markers)
    while done_events < total:
        size = min(chunk, total - done_events)
        rows: dict[str, dict[str, list[Any]]] = {}
        gen_s = gen_cpu = 0.0
        clock = time.perf_counter
        for _ in range(size):
            c0 = time.thread_time()
            t0 = clock()
            gen.GenerateOneEvent()
            gen_s += clock() - t0
            gen_cpu += time.thread_time() - c0
            blobs = gen.GetBlobList()
            sig = blobs[0]
            ids_in, m_in, ids_out, m_out = _signal_particles(sig)
            key = (tuple(sorted(ids_in)), tuple(sorted(ids_out)))
            if key not in by_key:
                raise DumperError(
                    f"event with flavours {ids_in} -> {ids_out} matches no channel Sherpa listed"
                )
            name, pdg, n_in = by_key[key]
            order = _order(pdg, n_in, ids_in, ids_out)
            mom = np.concatenate([m_in, m_out])[order]
            x = {1.0: 0.0, -1.0: 0.0}
            for p in m_in:
                x[float(np.sign(p[3]))] = 2.0 * p[0] / sqrt_s
            r = rows.setdefault(
                name,
                {c: [] for c in ("momenta", "weight", "me_weight", "x1", "x2", "muf2", "mur2", "trials",
                                 "checked", "me2_chk", "ms", "cpu")},
            )
            if len(r["momenta"]) % every == 0:
                # MEProcess right after the event (the first of each channel, then every N-th): its time is
                # taken in the same machine state as the generation's, so t_PS = t_gen - t_ME is not biased
                # by timing the two minutes apart under different load
                me2_i, ms_i = me.evaluate(name, pdg, n_in, mom[None], colour_point=sample)
                r["checked"].append(len(r["momenta"]))
                r["me2_chk"].append(float(me2_i[0]))
                r["ms"].append(float(ms_i[0]))
                r["cpu"].append(float(me.last_cpu_ms[0]))
            r["momenta"].append(mom)
            r["weight"].append(blobs.Weight())
            r["me_weight"].append(sig["MEWeight"])
            r["x1"].append(x[1.0])
            r["x2"].append(x[-1.0])
            r["muf2"].append(sig["Factorisation_Scale"])
            r["mur2"].append(sig["Renormalization_Scale"])
            r["trials"].append(sig["Trials"])
            progress(
                f"events: chunk {k}, {done_events + sum(len(v['weight']) for v in rows.values())}/{total} "
                f"events, {gen_s * 1e3 / max(1, sum(len(v['weight']) for v in rows.values())):.3f} ms/event"
            )
        me_s = 0.0
        per_channel: dict[str, Any] = {}
        for name, r in rows.items():
            _, pdg, n_in = next(b for b in built if b[0] == name)
            mom = np.array(r["momenta"], dtype=np.float64)
            weight = np.array(r["weight"], dtype=np.float64)
            me_weight = np.array(r["me_weight"], dtype=np.float64)
            # every event (every=1), or every N-th event of each channel in this chunk, first one included
            checked = np.array(r["checked"], dtype=np.int64)
            me2_chk, ms = np.array(r["me2_chk"]), np.array(r["ms"])
            me_s += float(ms.sum()) / 1e3
            with np.errstate(divide="ignore", invalid="ignore"):
                dev = np.abs(me_weight[checked] / me2_chk - 1.0)
            # Sherpa's event MEWeight is |M|^2 without PDFs: it must equal MEProcess in our particle order
            worst = 0.0 if sample else float(np.max(np.where(me2_chk != 0, dev, 0.0)))
            if worst > 1e-8:
                bad = int(np.argmax(np.where(me2_chk != 0, dev, 0.0)))
                raise DumperError(
                    f"{name}: MEProcess |M|^2 {me2_chk[bad]} differs from Sherpa's event MEWeight "
                    f"{me_weight[checked][bad]} at event {done_events + int(checked[bad])} of the run "
                    f"(rel. {worst:.3g}); particle mapping or settings differ"
                )
            me2 = me2_chk if every == 1 and not sample else me_weight
            with np.errstate(divide="ignore", invalid="ignore"):
                ps_weight = np.where(me2 != 0, weight / me2, 0.0)
            cols = {
                "momenta": mom,
                "me2": me2,
                "weight": weight,
                "ps_weight": ps_weight,
                **{c: np.array(r[c], dtype=np.float64) for c in ("x1", "x2", "muf2", "mur2", "trials")},
            }
            info: dict[str, Any] = {"n": len(me2), "me_ms": float(np.median(ms)),
                                    "me_cpu_ms": float(np.mean(r["cpu"]))}
            if not sample:
                info["meweight_dev"] = worst
            store.write_part(name, k, cols, info)
            per_channel[name] = len(me2)
        atomic_write_text(
            store.chunk_marker(k),
            json.dumps(
                {
                    "events": size,
                    "gen_seconds": gen_s,
                    "gen_cpu_seconds": gen_cpu,
                    "me_seconds": me_s,
                    "channels": per_channel,
                }
            ),
        )
        done_events += size
        k += 1
        progress(
            f"events: {done_events}/{total} done, {gen_s * 1e3 / size:.3f} ms/event generation", force=True
        )
    markers = store.done_chunks()
    n_events = sum(m["events"] for m in markers)
    gen_ms = 1e3 * sum(m["gen_seconds"] for m in markers) / n_events
    gen_cpu_ms = 1e3 * sum(m.get("gen_cpu_seconds", 0.0) for m in markers) / n_events
    channel_ms: dict[str, float] = {}
    channel_cpu: dict[str, float] = {}
    results = []
    for name, _pdg, _n_in in built:
        if not store.done_parts(name):
            continue
        _, timings = store.load(name)
        channel_ms[name] = _ms_stats(timings)
        channel_cpu[name] = _ms_stats(timings, "me_cpu_ms")
    counts = {c: sum(m["channels"].get(c, 0) for m in markers) for c in channel_ms}
    ps_ms = max(0.0, gen_ms - sum(channel_ms[c] * counts[c] for c in counts) / n_events)
    ps_cpu_ms = max(0.0, gen_cpu_ms - sum(channel_cpu[c] * counts[c] for c in counts) / n_events)
    for name, pdg, n_in in built:
        if name not in channel_ms:
            continue
        meta = base_meta(job, name, pdg, n_in)
        meta.update(
            me_ms_per_point=channel_ms[name],
            ps_ms_per_point=ps_ms,
            gen_ms_per_event=gen_ms,
            me_cpu_ms_per_point=channel_cpu[name],
            ps_cpu_ms_per_point=ps_cpu_ms,
            gen_cpu_ms_per_event=gen_cpu_ms,
            ps_ms_note="Sherpa's weighted generation time per event (phase space, PDFs, cuts, selection, its "
            "own ME call) minus the MEProcess time of the event's channel, averaged over all channels",
            n_events_all_channels=n_events,
            weight_unit="pb (Sherpa weighted event weight; sigma = sum(weight) / sum(trials), all channels)",
            ps_weight_note="weight / me2: phase space, PDFs, flux and pb conversion (everything but |M|^2)",
            me2_source="MEProcess.MatrixElement() at every event"
            if every == 1
            else f"Sherpa's event MEWeight (the ME of its own generation), checked against "
            f"MEProcess.MatrixElement() at every {every}th event of each chunk (that call's time is me_ms)",
            pdf_set=job.get("pdf_set"),
            ps_generator="Sherpa 3.0.3 weighted event generation (EVENT_GENERATION_MODE: Weighted)",
        )
        if sample:
            meta.update(
                me2_source="Sherpa's event MEWeight under colour sampling (COLOR_SCHEME 2): |M|^2 of the one "
                "colour configuration Sherpa sampled for the event times the colour integrator's weight, an "
                "unbiased but fluctuating estimate of the colour-summed |M|^2 (not checked: MEProcess gives "
                "one configuration's |M|^2 under colour sampling)",
                me_ms_note="median wall time of one colour-sampled MEProcess.MatrixElement() call (ms) after "
                "GenerateColorPoint(), at "
                + ("every event" if every == 1 else f"every {every}th event of each channel and chunk")
                + "; SetMomenta and GenerateColorPoint excluded",
            )
        else:
            meta["me2_vs_sherpa_meweight_max_rel_dev"] = max(
                t.get("meweight_dev", 0.0) for t in store.load(name)[1]
            )
        path = store.finish(name, pdg, meta)
        results.append(_summary_from_file(path))
    store.cleanup()
    return {
        "channels": results,
        "ps_ms_per_point": ps_ms,
        "gen_ms_per_event": gen_ms,
        "ps_cpu_ms_per_point": ps_cpu_ms,
        "gen_cpu_ms_per_event": gen_cpu_ms,
        "events": n_events,
    }


def run_integrate(job: dict[str, Any]) -> dict[str, Any]:
    """After ``InitializeTheRun`` (which integrated): check that the grids were written.

    The integrated cross sections are in Sherpa's log (the binding's ``TotalXS`` crashes before the event
    handler exists), which the supervising side reads.
    """
    results = Path(job["workdir"]) / "Results.zip"
    if not results.is_file():
        raise DumperError(
            f"Sherpa initialised but wrote no integration results {results}; expected its RESULT_DIRECTORY "
            "default (Results.zip in the run folder)"
        )
    say(f"integrated; grids in {results}")
    return {"channels": []}


def _summary_from_file(path: Path) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"][()]))
        n = int(npz["momenta"].shape[0])
    return {
        "process": meta["process"],
        "pdg": meta["pdg"],
        "points": n,
        "file": str(path),
        "me_ms_per_point": meta.get("me_ms_per_point"),
        "ps_ms_per_point": meta.get("ps_ms_per_point"),
        "me_cpu_ms_per_point": meta.get("me_cpu_ms_per_point"),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m sherpa_side.dumper JOB.json", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    try:
        job = json.loads(Path(argv[1]).read_text())
        for key in ("out", "result", "workdir"):
            job[key] = str(Path(job[key]).resolve())
        if job.get("input"):
            job["input"] = str(Path(job["input"]).resolve())
        mode = job["mode"]
        extra = ["INIT_ONLY: 2"] if mode in ("rambo", "eval", "timing") else []
        if mode == "events":
            n_done = len(ChunkStore(Path(job["out"])).done_chunks())
            # a resumed run continues with fresh random numbers
            extra += [
                f"EVENTS: {int(job['points'])}",
                f"RANDOM_SEED: {int(job.get('seed', 0)) + 7919 * n_done + 1}",
            ]
        gen = start_sherpa(job, extra)
        t_init = time.perf_counter() - t_start
        built = flavours.built_channels(Path(job["workdir"]))
        say(f"Sherpa built {len(built)} channel(s) in {t_init:.1f} s")
        me = MEEvaluator(gen)
        if mode == "rambo":
            res = run_rambo(job, me, built)
        elif mode == "eval":
            res = run_eval(job, me, built)
        elif mode == "events":
            res = run_events(job, me, built)
        elif mode == "timing":  # only the MatrixElement() timings below, no dumps
            res = {"channels": []}
        elif mode == "integrate":  # InitializeTheRun integrated; the grids are in Results.zip
            res = run_integrate(job)
        else:
            raise DumperError(f"unknown mode {mode!r}; expected rambo, eval, events, timing or integrate")
        timing_points = int(job.get("timing_points", 0))
        if timing_points:
            res["timing"], res["timing_cpu"] = {}, {}
            for name, pdg, n_in in built:
                e_test = float(job.get("timing_sqrt_s", 1000.0))
                res["timing"][name] = me.test_timing(name, pdg, n_in, e_test, timing_points)
                res["timing_cpu"][name] = float(np.median(me.last_cpu_ms))
        res.update(
            mode=mode,
            sherpa_channels=[{"process": n, "pdg": p, "n_in": i} for n, p, i in built],
            comix_map=flavours.comix_map(Path(job["workdir"])),
            init_seconds=t_init,
            seconds=time.perf_counter() - t_start,
            cpu_seconds=time.process_time(),
            sherpa_version=sherpa_version(),
        )
        atomic_write_text(Path(job["result"]), json.dumps(res, indent=1))
    except (DumperError, OSError, KeyError, ValueError) as err:
        say(f"error: {err}")
        return 3
    say(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Sherpa's atexit teardown can hang or crash after a clean run; the work is saved, leave at once
    os._exit(code)
