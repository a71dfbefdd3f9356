"""The supervising side of ``fame sherpa dump``: build the run card, run the Sherpa-side dumper, report.

The dumper (:mod:`sherpa_plugin.sherpa_side.dumper`) runs under Sherpa's own Python as a subprocess, because
Sherpa needs CPython 3.12/3.13 and because Sherpa's C++ exceptions end the interpreter.  This module

* builds a Sherpa 3 run card from a process string, beams, energy and cuts (or takes the user's run card;
  :mod:`sherpa_plugin.run_card`);
* picks the dumper's mode: RAMBO points for lepton beams, Sherpa's weighted event generation for hadron beams,
  or |M|^2 at the momenta of an input dump;
* runs it (:mod:`sherpa_plugin.dump_runner`), forwards its progress lines, keeps Sherpa's log in
  ``OUT/.sherpa/sherpa.log``, and on a failure raises :class:`~sherpa_plugin.dump_runner.SherpaDumpError`
  with the dumper's message and Sherpa's last log lines;
* writes ``OUT/dump.json`` (the summary) only after a complete run.  Each ``OUT/<channel>.npz`` appears only
  when complete (assembled from finished chunks and renamed into place); a rerun with the same settings
  resumes from the finished chunks.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lhe_tools import atomic_path

from .dump_result import DumpResult
from .dump_runner import SherpaDumpError, log_tail, run_dumper
from .run_card import HADRONS, build_run_card, card_beams, card_for_input
from .sherpa_env import SherpaInstall, dumper_environment, find_sherpa_python, probe_sherpa
from .sherpa_side.job import COLOR_SCHEMES, EVENTS_CHUNK, POINTS_CHUNK, DumperResult, DumpJob

if TYPE_CHECKING:
    from .cluster import ClusterSpec

__all__ = [
    "DumpSettings",
    "DumpSource",
    "build_job",
    "execute_job",
    "sherpa_dump",
]

log = logging.getLogger("fame.sherpa")

SUMMARY = "dump.json"
_JOB = ".fame-job.json"
_WORK = ".sherpa"
#: Sherpa's integration results in its run folder (``RESULT_DIRECTORY`` default, zipped)
_RESULTS = "Results.zip"
#: the folder of a ``--jobs`` dump's generation jobs (``OUT/.jobs/job-<j>``)
JOBS = ".jobs"
#: what a dump job writes into its output folder after its job file (``--fresh`` removes them): Sherpa's run
#: folder, the finished chunks, the generation jobs' folders and the summary
_JOB_TRACES = (_WORK, ".parts", JOBS, SUMMARY)

#: Sherpa command-line settings for the hadron-beam (weighted events) mode: parton level only, colour sum
EVENT_OVERRIDES: dict[str, str] = {
    "EVENT_GENERATION_MODE": "Weighted",
    "COLOR_SCHEME": "1",
    "SHOWER_GENERATOR": "None",
    "FRAGMENTATION": "None",
    "MI_HANDLER": "None",
    "BEAM_REMNANTS": "false",
    "ME_QED": "{ENABLED: false}",
}
#: ``DumpSettings.colour_scheme`` → Sherpa's ``COLOR_SCHEME`` (PHASIC::cls::scheme: 1 = sum, 2 = sample),
#: the dumper's own table (it runs under Sherpa's Python and imports no fame module)
COLOUR_SCHEMES: dict[str, int] = COLOR_SCHEMES
#: integration presets (``PSI`` of Sherpa 3): "fast" for tests, "medium" for benchmarks, "sherpa" = defaults
INTEGRATION: dict[str, str | None] = {
    "fast": "{ITMIN: 2000, NOPT: 2, MAXOPT: 1}",
    "medium": "{ITMIN: 5000, NOPT: 4, MAXOPT: 1}",
    "sherpa": None,
}


@dataclass(frozen=True)
class DumpSettings:
    """What to dump; every field is recorded in the job and in each dump's ``meta``.

    Parameters
    ----------
    points : int
        Lepton beams / input: points per channel.  Hadron beams: weighted events in total (all channels);
        rerunning an unfinished hadron job with a smaller ``points`` stops it there (whole chunks kept).
    seed : int
        Seed of RAMBO (per channel and chunk) or Sherpa's ``RANDOM_SEED``.
    chunk : int, optional
        Points per saved chunk (resumable unit); default 20000 (RAMBO, input) or 5000 (events).
    y_cut : float, optional
        Lepton beams: global cut s_ij > y_cut·s on final-state parton pairs.
    integration : str
        Hadron beams: ``fast``, ``medium`` or ``sherpa`` (Sherpa's own integration settings).
    timing_points : int
        Also time ``MatrixElement()`` at this many of Sherpa's RAMBO test points for every channel Sherpa
        built (channels without events included); 0 = off.
    channels : tuple of str
        Only these channels (lepton beams / input); empty = all Sherpa built.
    timing_only : bool
        Write no dumps: initialise Sherpa (no integration) and time ``MatrixElement()`` for every channel.
    me_check_every : int
        Hadron beams: 1 (default) evaluates |M|^2 with ``MEProcess`` at every event; N > 1 takes Sherpa's
        own event ``MEWeight`` (the same colour-summed |M|^2, computed during generation) and checks it
        against ``MEProcess`` (relative 1e-8) at every N-th event of each chunk, which also times the ME.
        Halves the cost of a dump where the ME dominates the generation time.
    colour_scheme : str
        Hadron beams: ``"sum"`` (default; ``COLOR_SCHEME: 1``, the exact colour-summed |M|^2) or
        ``"sample"`` (``COLOR_SCHEME: 2``: Comix samples one colour configuration per event, Sherpa's
        cheaper but noisier standard generation).  Under ``"sample"`` ``me2`` is Sherpa's event ``MEWeight``
        (the sampled configuration's |M|^2 times the colour weight: an unbiased estimate of the colour sum)
        and ``me_check_every`` only sets how often one colour-sampled ``MatrixElement()`` is timed; the dump
        gives the colour-sampled baseline's weights (ε_full) and CPU times per event.
    """

    points: int
    seed: int = 0
    chunk: int | None = None
    y_cut: float | None = None
    integration: str = "medium"
    timing_points: int = 0
    channels: tuple[str, ...] = field(default_factory=tuple)
    timing_only: bool = False
    me_check_every: int = 1
    colour_scheme: str = "sum"

    def __post_init__(self) -> None:
        if self.me_check_every < 1:
            raise ValueError(f"me_check_every must be a positive integer, got {self.me_check_every}")
        if self.colour_scheme not in COLOUR_SCHEMES:
            raise ValueError(
                f"colour_scheme {self.colour_scheme!r}: expected one of {sorted(COLOUR_SCHEMES)}"
            )


@dataclass(frozen=True)
class DumpSource:
    """Where the points come from: exactly one of a run card, a process string or an input dump.

    Parameters
    ----------
    run_card : path, optional
        A Sherpa 3 run card (YAML file); beams and √s are read from it.
    process : str, optional
        ``"IN IN -> OUT ..."`` PDG ids, for :func:`sherpa_plugin.run_card.build_run_card` with the settings
        below.
    input_dump : path, optional
        A fame dump whose momenta get Sherpa's |M|^2.
    beams : tuple of int
        Beam PDG ids (``process``); 2212 gives hadron beams.
    sqrt_s : float
        Collider energy, GeV (``process``).
    mll : (float, float), optional
        Hadron beams: e+e- mass window, GeV.
    jet_pt, jet_r : float
        Hadron beams: anti-kt jets with pT > ``jet_pt`` (GeV) and radius ``jet_r``.
    order_qcd : int, optional
        QCD coupling order (default: :func:`sherpa_plugin.run_card.coupling_orders`).
    """

    run_card: str | os.PathLike[str] | None = None
    process: str | None = None
    input_dump: str | os.PathLike[str] | None = None
    beams: tuple[int, ...] = (11, -11)
    sqrt_s: float = 1000.0
    mll: tuple[float, float] | None = None
    jet_pt: float | None = None
    jet_r: float = 0.4
    order_qcd: int | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.run_card, self.process, self.input_dump)) != 1:
            raise ValueError("give exactly one of a run card, --process, or an input dump")


def _fewer_events(previous: Mapping[str, object], job: Mapping[str, object]) -> bool:
    """True if ``job`` is the weighted-event job ``previous`` asking for fewer events: stop early.

    Weighted events are independent draws, so a long run may be cut short: the rerun keeps the chunks
    done so far (whole chunks, so at least ``points`` events when that many were done) and finishes.
    """
    def rest(j: Mapping[str, object]) -> dict[str, object]:
        return {k: v for k, v in j.items() if k != "points"}

    fewer = int(str(job["points"])) < int(str(previous["points"]))
    return bool(rest(previous) == rest(job) and job.get("mode") == "events" and fewer)


def _integration_source(integration_from: str | os.PathLike[str], job: DumpJob) -> tuple[Path, DumpJob]:
    """The dump folder whose Sherpa integration ``job`` reuses (same setup, checked); ``job`` recording it."""
    src = Path(integration_from).resolve()
    if job.mode != "events":
        raise ValueError(
            f"integration_from applies to hadron-beam event dumps only (this job: {job.mode!r})"
        )
    results, src_job_file = src / _WORK / _RESULTS, src / _JOB
    if not (results.is_file() and src_job_file.is_file()):
        raise ValueError(
            f"{src}: no Sherpa integration to reuse; expected {results} and {src_job_file} from an earlier "
            "`fame sherpa dump` of hadron beams"
        )
    src_job, here = json.loads(src_job_file.read_text()), job.to_json()
    for key in ("mode", "run_card", "overrides", "sqrt_s", "beams", "cuts"):
        if src_job.get(key) != here[key]:
            raise ValueError(
                f"{src} integrated a different setup ({key}: {src_job.get(key)!r} there, {here[key]!r} "
                "here); an integration is reused only for the same process, cuts and integration settings"
            )
    return src, dataclasses.replace(job, integration_from=str(src))


def sherpa_dump(
    out: str | os.PathLike[str],
    settings: DumpSettings,
    *,
    run_card: str | os.PathLike[str] | None = None,
    process: str | None = None,
    input_dump: str | os.PathLike[str] | None = None,
    beams: Sequence[int] = (11, -11),
    sqrt_s: float = 1000.0,
    mll: tuple[float, float] | None = None,
    jet_pt: float | None = None,
    jet_r: float = 0.4,
    order_qcd: int | None = None,
    sherpa_python: str | os.PathLike[str] | None = None,
    fresh: bool = False,
    integration_from: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    workers: int | None = None,
    cluster: ClusterSpec | None = None,
    progress: bool = True,
) -> DumpResult:
    """Run the Sherpa-side dumper and return its summary (also written to ``OUT/dump.json``).

    Exactly one of ``run_card`` (a Sherpa 3 YAML file), ``process`` (with ``beams``, ``sqrt_s`` and cuts) or
    ``input_dump`` (a fame dump whose momenta get Sherpa's |M|^2) must be given.

    ``integration_from`` (hadron beams): the folder of an earlier dump of the same setup (same run card and
    settings, any seed and size) whose Sherpa integration (``Results.zip``) is reused, so that independent
    runs with other seeds (more training events on more cores, a validation sample) skip the integration
    (Z+5 jets: 7 minutes with ``--integration fast``).

    ``jobs`` > 1, ``scheduler``, ``cluster`` or ``workers`` (hadron beams): integrate once, then generate
    in ``jobs`` Dask tasks, each with its own seed derived from ``settings.seed`` (see
    :mod:`sherpa_plugin.dump_jobs`); ``OUT`` then holds one dump per channel over all jobs, and the summary
    adds ``jobs``, ``sigma_pb`` (Σ weight / Σ trials over all jobs) and the generation times.  ``workers``:
    local Dask workers (default one per core, at most ``jobs``) or batch jobs of ``cluster``; ``progress``:
    one bar on stderr.

    Returns
    -------
    DumpResult
        ``channels`` (each: ``process``, ``pdg``, ``points``, ``file``, ``me_ms_per_point``,
        ``ps_ms_per_point``), ``points`` (total), ``ms_per_point`` (point-weighted mean of the channels'
        median ``MatrixElement()`` times), ``ps_ms_per_point`` (hadron beams), ``sherpa_channels`` (all
        channels Sherpa built), ``timing`` (when ``settings.timing_points``), ``mode``, ``seconds``, ``out``;
        :meth:`DumpResult.to_json` gives ``OUT/dump.json``.

    Raises
    ------
    SherpaNotAvailable
        No Sherpa Python.
    SherpaDumpError
        The dumper failed (Sherpa's message included); finished chunks stay for a resume.
    ValueError
        Inconsistent arguments, or ``OUT`` holds unfinished work of a different job (use ``fresh``).
    """
    source = DumpSource(run_card, process, input_dump, tuple(beams), sqrt_s, mll, jet_pt, jet_r, order_qcd)
    job = build_job(settings, source)
    if jobs != 1 or scheduler is not None or cluster is not None or workers is not None:
        from .dump_jobs import dump_with_jobs

        return dump_with_jobs(
            out, job, settings, jobs=jobs, scheduler=scheduler, workers=workers, cluster=cluster,
            sherpa_python=sherpa_python, fresh=fresh, integration_from=integration_from, progress=progress,
        )
    results_zip = None
    if integration_from is not None:
        src, job = _integration_source(integration_from, job)
        results_zip = src / _WORK / _RESULTS
    install = probe_sherpa(find_sherpa_python(sherpa_python))
    return execute_job(out, job, install, settings=asdict(settings), fresh=fresh, results_zip=results_zip)


def build_job(settings: DumpSettings, source: DumpSource) -> DumpJob:
    """The dumper's job for these settings: mode, run card, Sherpa overrides, sizes, cuts.

    The job is what ``OUT/.fame-job.json`` records; a rerun must build the same job to resume.
    """
    run_card, process, input_dump = source.run_card, source.process, source.input_dump
    beams, sqrt_s, mll, jet_pt = source.beams, source.sqrt_s, source.mll, source.jet_pt
    if settings.timing_only and settings.timing_points <= 0:
        raise ValueError("timing_only needs timing_points > 0")
    if settings.points <= 0 and input_dump is None and not settings.timing_only:
        raise ValueError(f"points must be positive, got {settings.points}")
    cuts: dict[str, object] = {}
    if run_card is not None:
        card = Path(run_card).read_text(encoding="utf-8")
        beams_l, sqrt_s = card_beams(card, str(run_card))
    elif process is not None:
        beams_l = [int(b) for b in beams]
        hadronic = any(b in HADRONS for b in beams_l)
        card = build_run_card(process, beams=beams_l, sqrt_s=sqrt_s, mll=mll if hadronic else None,
                              jet_pt=jet_pt if hadronic else None, jet_r=source.jet_r,
                              order_qcd=source.order_qcd)
    else:
        card, beams_l, sqrt_s = card_for_input(Path(str(input_dump)))
    hadronic = any(b in HADRONS for b in beams_l)
    mode = "eval" if input_dump is not None else ("events" if hadronic else "rambo")
    if settings.timing_only:
        mode = "timing"
    if mode == "rambo":
        if settings.y_cut is None:
            raise ValueError("lepton beams need a y_cut (--ycut) for the RAMBO points, e.g. 0.01")
        cuts = {"y_cut": settings.y_cut,
                "definition": "s_ij = 2 p_i.p_j > y_cut * s for every pair of final-state partons"}
    elif mode == "events":
        cuts = {"selectors": "run card SELECTORS", "mll": list(mll) if mll else None, "jet_pt": jet_pt,
                "jet_r": source.jet_r}
    overrides: dict[str, str] = {"COLOR_SCHEME": "1"}
    if mode == "events":
        overrides.update(EVENT_OVERRIDES)
        if settings.integration not in INTEGRATION:
            raise ValueError(f"integration {settings.integration!r}: expected one of {sorted(INTEGRATION)}")
        psi = INTEGRATION[settings.integration]
        if psi is not None:
            overrides["PSI"] = psi
    if settings.me_check_every != 1 and mode != "events":
        raise ValueError(f"me_check_every applies to hadron-beam event dumps only (this job: {mode})")
    if settings.colour_scheme != "sum":  # the default job stays as it was (resumes compare jobs)
        if mode != "events":
            raise ValueError(
                f"colour_scheme {settings.colour_scheme!r} applies to hadron-beam event dumps only "
                f"(this job: {mode}); MEProcess.MatrixElement() is the colour-summed |M|^2 only under "
                "COLOR_SCHEME 1"
            )
        overrides["COLOR_SCHEME"] = str(COLOUR_SCHEMES[settings.colour_scheme])
    return DumpJob(
        mode=mode,
        run_card=card,
        overrides=overrides,
        points=int(settings.points),
        chunk=int(settings.chunk or (EVENTS_CHUNK if mode == "events" else POINTS_CHUNK)),
        seed=int(settings.seed),
        sqrt_s=float(sqrt_s),
        beams=tuple(beams_l),
        y_cut=settings.y_cut if mode == "rambo" else None,
        cuts=cuts,
        channels=tuple(settings.channels),
        timing_points=int(settings.timing_points),
        pdf_set="PDF4LHC21_40_pdfas (Sherpa 3.0.3 default via LHAPDF)" if hadronic else None,
        input=str(Path(input_dump).resolve()) if input_dump is not None else None,
        # Sherpa's RAMBO test points of the MatrixElement() timings, at this energy
        timing_sqrt_s=float(sqrt_s) if settings.timing_points else None,
        me_check_every=int(settings.me_check_every),
        color_scheme=settings.colour_scheme,
    )


def clear_outputs(out: Path) -> None:
    """``--fresh``: remove every trace of an earlier job from ``out`` (its dumps are overwritten later).

    Only a folder that an earlier dump job wrote (it holds that job's ``.fame-job.json``) is touched: in any
    other folder a ``.sherpa``, ``.parts``, ``.jobs`` or ``dump.json`` is the user's and stays.  A link at one
    of those names is removed, never what it points to.
    """
    if not (out / _JOB).is_file() or (out / _JOB).is_symlink():
        log.info("%s holds no earlier dump job (no %s): --fresh has nothing to discard", out, _JOB)
        return
    for stale in [out / name for name in _JOB_TRACES] + [out / _JOB]:
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)


def check_job_file(out: Path, job: DumpJob) -> DumpResult | None:
    """Refuse an ``out`` that holds another job, or a dump job's files that no job file claims (a user's
    ``.sherpa``, say); return the summary when this job is complete there."""
    job_file, summary_file = out / _JOB, out / SUMMARY
    if not job_file.is_file():
        foreign = [name for name in _JOB_TRACES if (out / name).exists() or (out / name).is_symlink()]
        if foreign:  # the job file is written before any of them: these are not a dump job's
            raise ValueError(
                f"{out} holds {', '.join(foreign)} but no {_JOB}, so no fame dump job wrote them: a dump "
                f"runs Sherpa in {out / _WORK} and --fresh would later delete it; use a new or empty --out"
            )
        return None
    previous, here = json.loads(job_file.read_text()), job.to_json()
    if previous != here and not _fewer_events(previous, here):
        raise ValueError(
            f"{out} holds the output of a different dump job ({job_file}); use another --out or --fresh"
        )
    if summary_file.is_file():
        log.info("%s is complete already (same job); nothing to do", out)
        return DumpResult.from_json(json.loads(summary_file.read_text()))
    return None


def write_job_file(out: Path, job: DumpJob) -> None:
    """Record ``job`` in ``out/.fame-job.json`` (compared by :func:`check_job_file` on a rerun)."""
    with atomic_path(out / _JOB) as tmp:
        tmp.write_text(json.dumps(job.to_json(), indent=1))


def install_results(workdir: Path, results_zip: Path | bytes) -> None:
    """Put an earlier integration (``Results.zip``: a path or its bytes) into Sherpa's run folder once."""
    target = workdir / _RESULTS
    if target.is_file():
        return
    workdir.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        if isinstance(results_zip, bytes):
            tmp.write_bytes(results_zip)
        else:
            shutil.copyfile(results_zip, tmp)


def execute_job(
    out: str | os.PathLike[str],
    job: DumpJob,
    install: SherpaInstall,
    *,
    settings: Mapping[str, Any],
    fresh: bool = False,
    results_zip: Path | bytes | None = None,
    on_line: Callable[[str], None] | None = None,
) -> DumpResult:
    """Run one dumper job in ``out`` (resuming finished chunks) and write ``out/dump.json``.

    Parameters
    ----------
    out : path
        The job's output folder (dumps, ``.parts``, Sherpa's run folder ``.sherpa``).
    job : DumpJob
        From :func:`build_job` (possibly with another ``points`` / ``seed``).
    install : SherpaInstall
        The Sherpa Python to run the dumper with.
    settings : mapping
        Recorded in the summary.
    fresh : bool
        Discard earlier work in ``out`` first.
    results_zip : path or bytes, optional
        An integration to start from (copied into ``out/.sherpa`` unless one is there).
    on_line : callable, optional
        Receives the dumper's ``fame-dumper:`` lines (default: printed on stderr).
    """
    out = Path(out).resolve()
    workdir = out / _WORK
    summary_file = out / SUMMARY
    if fresh and out.exists():
        clear_outputs(out)
    done = check_job_file(out, job)
    if done is not None:
        return done
    write_job_file(out, job)  # first: it marks everything fame then writes into out as the job's (--fresh)
    workdir.mkdir(parents=True, exist_ok=True)
    if results_zip is not None:
        install_results(workdir, results_zip)
    runner_file = workdir / "job.json"
    runner_file.write_text(job.for_run(workdir, out, workdir / "result.json").dumps())
    (workdir / "result.json").unlink(missing_ok=True)
    run_dumper(install.python, runner_file, workdir, dumper_environment(install), out, on_line)
    if not (workdir / "result.json").is_file():
        raise SherpaDumpError(
            f"the Sherpa-side dumper exited normally but wrote no summary {workdir / 'result.json'}; "
            f"Sherpa's last words: {' | '.join(log_tail(workdir / 'sherpa.log', 5))}"
        )
    dumper = DumperResult.from_json(json.loads((workdir / "result.json").read_text()))
    channels = [dataclasses.replace(c, file=os.path.relpath(c.file, out)) for c in dumper.channels]
    points = sum(c.points for c in channels)
    if channels:
        weights = [c.points for c in channels]
        ms = float(np.average([float(c.me_ms_per_point or 0.0) for c in channels], weights=weights))
    elif dumper.timing:  # timing only: the median over the channels Sherpa built
        ms = float(np.median(list(dumper.timing.values())))
    else:  # integration only
        ms = float("nan")
    dumper.channels = channels
    res = DumpResult.from_dumper(dumper, points=points, ms_per_point=ms, out=str(out),
                                 sherpa_python=str(install.python), settings=dict(settings))
    with atomic_path(summary_file) as tmp:
        tmp.write_text(json.dumps(res.to_json(), indent=1))
    return res
