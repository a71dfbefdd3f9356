"""The supervising side of ``fame sherpa dump``: build the run card, run the Sherpa-side dumper, report.

The dumper (:mod:`sherpa_plugin.sherpa_side.dumper`) runs under Sherpa's own Python as a subprocess, because
Sherpa needs CPython 3.12/3.13 and because Sherpa's C++ exceptions end the interpreter.  This module

* builds a Sherpa 3 run card from a process string, beams, energy and cuts (or takes the user's run card);
* picks the dumper's mode: RAMBO points for lepton beams, Sherpa's weighted event generation for hadron beams,
  or |M|^2 at the momenta of an input dump;
* runs it, forwards its progress lines, keeps Sherpa's log in ``OUT/.sherpa/sherpa.log``, and on a failure
  raises :class:`SherpaDumpError` with the dumper's message and Sherpa's last log lines;
* writes ``OUT/dump.json`` (the summary) only after a complete run.  Each ``OUT/<channel>.npz`` appears only
  when complete (assembled from finished chunks and renamed into place); a rerun with the same settings
  resumes from the finished chunks.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from lhe_tools import atomic_path
from lhe_tools.expand import parse_process

from .dump_result import DumpResult
from .sherpa_env import SherpaInstall, dumper_environment, find_sherpa_python, probe_sherpa
from .sherpa_side.job import COLOR_SCHEMES, EVENTS_CHUNK, POINTS_CHUNK, DumperResult, DumpJob

if TYPE_CHECKING:
    from .dump_jobs import ClusterSpec

__all__ = [
    "HADRONS",
    "DumpResult",
    "DumpSettings",
    "DumpSource",
    "SherpaDumpError",
    "build_run_card",
    "coupling_orders",
    "sherpa_dump",
]

log = logging.getLogger("fame.sherpa")

HADRONS = frozenset({2212, -2212})
_STRONG = frozenset({1, 2, 3, 4, 5, 6, 21, 93, 94})
#: electroweak external particles: leptons, neutrinos, γ, Z, W, h, and the lepton / neutrino containers
_ELECTROWEAK = frozenset({11, 12, 13, 14, 15, 16, 22, 23, 24, 25, 90, 91})
#: top quarks: external ones are kept stable (zero width) as in the surrogate papers' tt̄ + jets
_TOP = 6
SUMMARY = "dump.json"
_JOB = ".fame-job.json"
_WORK = ".sherpa"
#: Sherpa's integration results in its run folder (``RESULT_DIRECTORY`` default, zipped)
_RESULTS = "Results.zip"

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


class SherpaDumpError(RuntimeError):
    """The Sherpa-side dumper failed; the message carries its own words and Sherpa's last log lines.

    ``exit_code`` is the dumper's exit status (negative: the signal that ended it; ``None``: not known).
    """

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[Any, ...]:  # travels between Dask worker and client intact
        return (type(self), (str(self), self.exit_code))


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
        ``"IN IN -> OUT ..."`` PDG ids, for :func:`build_run_card` with the settings below.
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
        QCD coupling order (default: :func:`coupling_orders`).
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


def coupling_orders(incoming: Sequence[int], outgoing: Sequence[int]) -> tuple[int, int]:
    """The tree-level coupling orders (QCD, EW) of a process, for the run card's ``Order``.

    A tree-level amplitude with n external particles has n − 2 powers of couplings (a four-gluon vertex
    counts as two).  Every external electroweak particle (lepton, neutrino, γ, Z, W, h) attaches through one
    electroweak vertex, so EW = their number: 2 for ℓℓ or ℓν + jets (one boson between the quark line and
    the leptons), 2 for e+e- → jets, 0 for tt̄ + jets; QCD = n − 2 − EW.

    Parameters
    ----------
    incoming, outgoing : sequence of int
        PDG ids; the containers 93/94 (jets) and 90/91 (leptons / neutrinos) are allowed.

    Returns
    -------
    (int, int)
        (QCD, EW) powers of g_s and e in the amplitude.

    Raises
    ------
    ValueError
        A particle neither strong nor electroweak (named), or fewer than three particles.
    """
    ids = [int(p) for p in (*incoming, *outgoing)]
    unknown = sorted({p for p in ids if abs(p) not in _STRONG and abs(p) not in _ELECTROWEAK})
    if unknown:
        raise ValueError(
            f"process {list(incoming)} -> {list(outgoing)}: cannot infer coupling orders for PDG id(s) "
            f"{unknown} (expected quarks, gluons, 93/94, leptons, neutrinos, 90/91, γ, Z, W, h); give the "
            "orders explicitly"
        )
    if len(ids) < 3:
        raise ValueError(f"process {list(incoming)} -> {list(outgoing)}: needs at least three particles")
    ew = sum(abs(p) in _ELECTROWEAK for p in ids)
    return len(ids) - 2 - ew, ew


def build_run_card(
    process: str,
    *,
    beams: Sequence[int] = (11, -11),
    sqrt_s: float = 1000.0,
    mll: tuple[float, float] | None = None,
    jet_pt: float | None = None,
    jet_r: float = 0.4,
    order_qcd: int | None = None,
    order_ew: int | None = None,
    scales: str = "VAR{sqr(91.1876)}",
    alphas: float | None = 0.118,
) -> str:
    """A Sherpa 3 run card for one process, with a fixed scale (so a fixed αs) and ``COLOR_SCHEME: 1``.

    Parameters
    ----------
    process : str
        ``"IN IN -> OUT ..."`` in the grammar of :func:`lhe_tools.expand.parse_process` (PDG ids, containers
        such as 93, Sherpa names such as ``j``, ``CODE{N}`` for 0…N copies), as ``fame groups --process``
        reads it.  The card writes it in Sherpa's syntax; orders and jets count ``CODE{N}`` as N particles
        (the highest multiplicity).
    beams : sequence of int
        Beam PDG ids; 2212 gives hadron beams with Sherpa's default PDF (PDF4LHC21_40_pdfas from the wheel).
    sqrt_s : float
        Collider energy, GeV (symmetric beams).
    mll : (float, float), optional
        Hadron beams: ``[Mass, 11, -11, min, max]`` selector on the e-e+ pair, GeV.
    jet_pt, jet_r : float
        Hadron beams: ``NJetFinder`` with N = number of outgoing light partons (tops excluded), anti-kt
        (``Exp: -1``), pT > jet_pt.
    order_qcd, order_ew : int, optional
        Coupling orders; by default those of :func:`coupling_orders` (EW = the electroweak vertices, QCD =
        the rest of a tree-level amplitude).  With external tops the card sets their width to 0 (stable tops;
        Sherpa's default mass).
    scales : str
        Sherpa ``SCALES``; the default fixes μ_R = μ_F = M_Z, so αs is fixed.
    alphas : float, optional
        ``ALPHAS(MZ)`` for lepton beams (hadron beams take αs from the PDF set unless given).

    Returns
    -------
    str
        The run card (YAML).
    """
    definition = parse_process(process)
    incoming, outgoing = definition.largest()
    qcd, ew = coupling_orders(incoming, outgoing)
    qcd = qcd if order_qcd is None else order_qcd
    ew = ew if order_ew is None else order_ew
    if qcd < 0 or ew < 0:
        raise ValueError(f"process {process!r}: negative coupling order (QCD {qcd}, EW {ew})")
    hadronic = any(b in HADRONS for b in beams)
    lines = [
        f"# fame sherpa dump: {process} at sqrt(s) = {sqrt_s:g} GeV",
        f"BEAMS: [{int(beams[0])}, {int(beams[1])}]",
        f"BEAM_ENERGIES: {sqrt_s / 2:.10g}",
    ]
    if not hadronic:
        lines.append("PDF_LIBRARY: None")
    lines += [
        "ME_GENERATORS: [Comix]",
        "COLOR_SCHEME: 1",
        "HELICITY_SCHEME: 1",
        f"SCALES: {scales}",
    ]
    if alphas is not None and not hadronic:
        lines.append(f"ALPHAS(MZ): {alphas!r}")
    lines += [
        "EW_SCHEME: Gmu",
        "WIDTH_SCHEME: CMS",
        "PROCESSES:",
        f"- {definition.sherpa()}:",
        f"    Order: {{QCD: {qcd}, EW: {ew}}}",
    ]
    if any(abs(p) == _TOP for p in (*incoming, *outgoing)):
        lines += ["PARTICLE_DATA:", f"  {_TOP}: {{Width: 0}}"]
    selectors: list[str] = []
    if mll is not None:
        selectors.append(f"- [Mass, 11, -11, {mll[0]:g}, {mll[1]:g}]")
    if jet_pt is not None:
        n_jets = sum(abs(p) in _STRONG and abs(p) != _TOP for p in outgoing)  # tops are not jets
        selectors.append(
            f"- NJetFinder: {{N: {n_jets}, PTMin: {jet_pt:g}, ETMin: 0.0, R: {jet_r:g}, Exp: -1}}"
        )
    if selectors:
        lines += ["SELECTORS:", *selectors]
    return "\n".join(lines) + "\n"


def _card_beams(card: str, where: str) -> tuple[list[int], float]:
    """Beam ids and √s of a run card (``BEAMS``, ``BEAM_ENERGIES``: a number or a pair)."""
    try:
        data = yaml.safe_load(card)
    except yaml.YAMLError as err:
        raise ValueError(f"{where}: not valid YAML ({err})") from None
    if not isinstance(data, dict) or "BEAMS" not in data or "BEAM_ENERGIES" not in data:
        raise ValueError(f"{where}: the run card needs BEAMS and BEAM_ENERGIES")
    beams, energies = data["BEAMS"], data["BEAM_ENERGIES"]
    beams = [int(beams), int(beams)] if isinstance(beams, int) else [int(b) for b in beams]
    energies = [float(energies)] * 2 if isinstance(energies, (int, float)) else [float(e) for e in energies]
    if energies[0] != energies[1]:
        raise ValueError(f"{where}: asymmetric beams {energies} are not supported (c.m. frame assumed)")
    if data.get("COLOR_SCHEME", 1) != 1:
        log.warning("%s: COLOR_SCHEME %s overridden with 1 (MEProcess.MatrixElement() is the full colour sum "
                    "only under COLOR_SCHEME 1)", where, data.get("COLOR_SCHEME"))
    return beams, sum(energies)


def _tail(path: Path, n: int = 15) -> list[str]:
    if not path.is_file():
        return []
    ansi = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 65536))
        text = fh.read().decode("utf-8", "replace")
    lines = [ansi.sub("", ln).rstrip() for ln in text.replace("\r", "\n").splitlines()]
    keep = [ln for ln in lines if ln.strip() and not set(ln.strip()) <= set("─│┌┐└┘ ")]
    return keep[-n:]


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


#: Linux: the dumper gets SIGKILL when the thread that started it dies (a killed Dask worker leaves no orphan
#: Sherpa writing into the folder that the retried job resumes in)
_SETPRIV = shutil.which("setpriv")


def _dumper_command(python: Path, job_path: Path) -> list[str]:
    cmd = [str(python), "-m", "sherpa_side.dumper", str(job_path)]
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *cmd] if _SETPRIV and sys.platform == "linux" else cmd


def _print_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _run_dumper(
    python: Path,
    job_path: Path,
    workdir: Path,
    env: dict[str, str],
    out: Path,
    on_line: Callable[[str], None] | None = None,
) -> None:
    """Run the dumper; its ``fame-dumper:`` lines go to ``on_line`` (default: stderr)."""
    log_path = workdir / "sherpa.log"
    last: collections.deque[str] = collections.deque(maxlen=30)
    forward = on_line or _print_line
    with log_path.open("ab") as sherpa_log:
        proc = subprocess.Popen(
            _dumper_command(python, job_path),
            cwd=workdir,
            env=env,
            stdout=sherpa_log,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        assert proc.stderr is not None
        try:
            for line in proc.stderr:
                line = line.rstrip()
                if not line:
                    continue
                last.append(line)
                if line.startswith("fame-dumper:"):
                    forward(line)
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    if code == 0:
        return
    ours = [ln for ln in last if ln.startswith("fame-dumper:")]
    error = next((ln for ln in reversed(ours) if "error:" in ln), None)
    stage = ours[-1] if ours else "(before its first message)"
    other = [ln for ln in last if not ln.startswith("fame-dumper:")][-8:]
    done = sorted(p.name for p in out.glob("*.npz"))
    msg = [f"the Sherpa-side dumper ({python}) failed: {_describe_exit(code)}"]
    msg.append(f"  its message: {error}" if error else f"  its last step: {stage}")
    if other:
        msg.append("  its stderr ends with:\n    " + "\n    ".join(other))
    words = _tail(log_path)
    if words:
        msg.append(f"  Sherpa's last words ({log_path}):\n    " + "\n    ".join(words))
    msg.append(
        f"  complete dumps in {out}: {done or 'none'}; unfinished channels have no .npz (finished chunks "
        f"stay in {out / '.parts'} and a rerun with the same settings resumes)"
    )
    raise SherpaDumpError("\n".join(msg), exit_code=code)


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
        beams_l, sqrt_s = _card_beams(card, str(run_card))
    elif process is not None:
        beams_l = [int(b) for b in beams]
        hadronic = any(b in HADRONS for b in beams_l)
        card = build_run_card(process, beams=beams_l, sqrt_s=sqrt_s, mll=mll if hadronic else None,
                              jet_pt=jet_pt if hadronic else None, jet_r=source.jet_r,
                              order_qcd=source.order_qcd)
    else:
        card, beams_l, sqrt_s = _card_for_input(Path(str(input_dump)))
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
    """``--fresh``: remove every trace of an earlier job from ``out`` (its dumps are overwritten later)."""
    for stale in (out / _WORK, out / ".parts", out / ".jobs", out / _JOB, out / SUMMARY):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)


def check_job_file(out: Path, job: DumpJob) -> DumpResult | None:
    """Refuse an ``out`` that holds another job; return its summary when this job is complete there."""
    job_file, summary_file = out / _JOB, out / SUMMARY
    if not job_file.is_file():
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
    workdir.mkdir(parents=True, exist_ok=True)
    if results_zip is not None:
        install_results(workdir, results_zip)
    write_job_file(out, job)
    runner_file = workdir / "job.json"
    runner_file.write_text(job.for_run(workdir, out, workdir / "result.json").dumps())
    (workdir / "result.json").unlink(missing_ok=True)
    _run_dumper(install.python, runner_file, workdir, dumper_environment(install), out, on_line)
    if not (workdir / "result.json").is_file():
        raise SherpaDumpError(
            f"the Sherpa-side dumper exited normally but wrote no summary {workdir / 'result.json'}; "
            f"Sherpa's last words: {' | '.join(_tail(workdir / 'sherpa.log', 5))}"
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


def _card_for_input(path: Path) -> tuple[str, list[int], float]:
    """A run card that builds the channel of a fame dump (its pdg, √s and beams from the file)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            pdg = [int(p) for p in npz["pdg"]]
            first = np.asarray(npz["momenta"][0], dtype=np.float64)
            meta: Mapping[str, Any] = json.loads(str(npz["meta"][()])) if "meta" in npz.files else {}
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"{path}: not a readable fame dump ({err})") from None
    n_in = int(meta.get("n_in", 2))
    incoming, outgoing = pdg[:n_in], pdg[n_in:]
    leptonic = all(abs(p) in (11, 13, 15) for p in incoming)
    if leptonic:
        plus = 0 if first[0, 3] > 0 else 1
        beams = [incoming[plus], incoming[1 - plus]]
        sqrt_s = float(meta.get("sqrt_s") or first[0, 0] + first[1, 0])
    else:
        beams = [2212, 2212]
        sqrt_s = float(meta.get("sqrt_s") or 13000.0)
    proc = f"{' '.join(map(str, incoming))} -> {' '.join(map(str, outgoing))}"
    return build_run_card(proc, beams=beams, sqrt_s=sqrt_s), beams, sqrt_s
