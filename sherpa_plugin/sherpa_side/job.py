"""The dumper's protocol, stdlib only: the job it reads (:class:`DumpJob`) and the summary it writes.

Both sides import this module: the fame side as ``sherpa_plugin.sherpa_side.job`` (it builds and records the
job, reads the summary), the Sherpa side as ``from .job import DumpJob`` (it runs under Sherpa's Python with
numpy, Sherpa and the standard library only).  The JSON on disk is a flat object; :meth:`DumpJob.to_json`
writes the optional keys only when they differ from their defaults, so that a job file written before a key
existed compares equal to the same job now (``OUT/.fame-job.json`` is compared key for key on a resume).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "COLOR_SCHEMES",
    "EVENT_KEYS",
    "MODES",
    "ChannelSummary",
    "DumpJob",
    "DumperResult",
    "JobError",
    "RunFigures",
    "SherpaChannel",
]

#: the dumper's run modes
MODES = ("rambo", "eval", "events", "timing", "integrate")
#: Sherpa's ``COLOR_SCHEME`` values (PHASIC::cls::scheme: 1 = sum, 2 = sample) by the job's name
COLOR_SCHEMES: dict[str, int] = {"sum": 1, "sample": 2}
#: default points per chunk: weighted events, and RAMBO / input points
EVENTS_CHUNK, POINTS_CHUNK = 5000, 20000


class JobError(ValueError):
    """A job (or a dumper summary) that does not follow the protocol; the message names the key."""


#: keys every job carries, with their JSON types
_REQUIRED: dict[str, tuple[type, ...]] = {
    "mode": (str,),
    "run_card": (str,),
    "overrides": (dict,),
    "points": (int,),
    "chunk": (int,),
    "seed": (int,),
    "sqrt_s": (int, float),
    "beams": (list,),
    "y_cut": (int, float, type(None)),
    "cuts": (dict,),
    "channels": (list,),
    "timing_points": (int,),
    "pdf_set": (str, type(None)),
    "input": (str, type(None)),
}
#: keys written only when set (not None / not the default)
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "timing_sqrt_s": (int, float),
    "me_check_every": (int,),
    "color_scheme": (str,),
    "integration_from": (str,),
    "job": (int,),
    "jobs": (int,),
    "base_seed": (int,),
    "integration_sha256": (str,),
    "workdir": (str,),
    "out": (str,),
    "result": (str,),
}
_DEFAULTS: dict[str, object] = {"me_check_every": 1, "color_scheme": "sum"}


@dataclass(frozen=True)
class DumpJob:
    """One run of the Sherpa-side dumper (``python -m sherpa_side.dumper JOB.json``).

    Parameters
    ----------
    mode : str
        ``rambo`` (lepton beams, flat RAMBO points), ``eval`` (|M|^2 at an input dump's momenta), ``events``
        (Sherpa's weighted event generation), ``timing`` (``MatrixElement()`` timings only) or ``integrate``
        (Sherpa's integration only, grids in ``workdir/Results.zip``).
    run_card : str
        The Sherpa 3 run card (YAML text), written to ``workdir/Sherpa.yaml``.
    overrides : dict of str to str
        Extra ``KEY: value`` settings on Sherpa's command line.
    points : int
        Points per channel (rambo), weighted events in total (events); 0 for eval / timing.
    chunk : int
        Points per saved chunk (the resumable unit).
    seed : int
        RAMBO seed (per channel and chunk) or Sherpa's ``RANDOM_SEED``.
    sqrt_s : float
        Collider energy, GeV.
    beams : tuple of int
        Beam PDG ids.
    y_cut : float, optional
        Rambo: the global cut s_ij > y_cut·s.
    cuts : dict
        The cuts as recorded in every dump's ``meta`` (JSON-able).
    channels : tuple of str
        Only these channels (rambo); empty = all Sherpa built.
    timing_points : int
        Time ``MatrixElement()`` at this many of Sherpa's RAMBO test points per channel; 0 = off.
    pdf_set : str, optional
        The PDF set recorded in the dumps' ``meta`` (hadron beams).
    input : str, optional
        Eval: the fame dump whose momenta get Sherpa's |M|^2.
    timing_sqrt_s : float, optional
        Energy (GeV) of the timing test points (with ``timing_points``).
    me_check_every : int
        Events: 1 = ``MEProcess`` at every event; N > 1 = Sherpa's ``MEWeight``, checked every N-th event.
    color_scheme : str
        ``sum`` (``COLOR_SCHEME: 1``) or ``sample`` (``COLOR_SCHEME: 2``, events only).
    integration_from : str, optional
        The dump folder whose Sherpa integration this job reuses.
    job, jobs, base_seed, integration_sha256 : optional
        ``fame sherpa dump --jobs``: this job's index, the number of jobs, the user's seed and the SHA-256 of
        the integration the job starts from.
    workdir, out, result : str, optional
        Set for the run only: Sherpa's run folder, the dump folder, and the summary JSON written last.
    """

    mode: str
    run_card: str
    overrides: dict[str, str]
    points: int
    chunk: int
    seed: int
    sqrt_s: float
    beams: tuple[int, ...]
    y_cut: float | None
    cuts: dict[str, object]
    channels: tuple[str, ...]
    timing_points: int
    pdf_set: str | None
    input: str | None
    timing_sqrt_s: float | None = None
    me_check_every: int = 1
    color_scheme: str = "sum"
    integration_from: str | None = None
    job: int | None = None
    jobs: int | None = None
    base_seed: int | None = None
    integration_sha256: str | None = None
    workdir: str | None = None
    out: str | None = None
    result: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise JobError(f"job mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if self.color_scheme not in COLOR_SCHEMES:
            raise JobError(f"job color_scheme={self.color_scheme!r}; expected one of {sorted(COLOR_SCHEMES)}")
        if self.me_check_every < 1:
            raise JobError(f"job me_check_every={self.me_check_every}; expected a positive integer")
        if self.points < 0 or self.chunk < 1 or self.timing_points < 0:
            raise JobError(
                f"job points={self.points}, chunk={self.chunk}, timing_points={self.timing_points}; expected "
                "points >= 0, chunk >= 1 and timing_points >= 0"
            )
        if self.mode == "eval" and not self.input:
            raise JobError("job mode 'eval' needs an input dump ('input')")
        if self.mode == "rambo" and self.y_cut is None:
            raise JobError("job mode 'rambo' needs a y_cut")

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        """``(workdir, out, result)`` of a run job.

        Raises
        ------
        JobError
            The job has no run folders (it is the recorded job, not a run's).
        """
        if self.workdir is None or self.out is None or self.result is None:
            raise JobError("the job names no workdir, out and result; the dumper needs all three")
        return Path(self.workdir), Path(self.out), Path(self.result)

    def for_run(self, workdir: Path, out: Path, result: Path, **changes: Any) -> DumpJob:
        """This job with absolute run folders (and any other ``changes``), as the dumper reads it."""
        return dataclasses.replace(
            self,
            workdir=str(workdir.resolve()),
            out=str(out.resolve()),
            result=str(result.resolve()),
            **changes,
        )

    def to_json(self) -> dict[str, Any]:
        """The job as a JSON object: the required keys, and the optional ones that are set."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _OPTIONAL and (value is None or _DEFAULTS.get(f.name) == value):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def dumps(self) -> str:
        """:meth:`to_json` as JSON text (one line)."""
        return json.dumps(self.to_json())

    @classmethod
    def from_json(cls, data: object, where: str = "job") -> DumpJob:
        """Check a JSON object against the protocol and build the job.

        Raises
        ------
        JobError
            Not an object, a missing or unknown key, or a value of the wrong type (named with ``where``).
        """
        if not isinstance(data, dict):
            raise JobError(f"{where}: expected a JSON object, got {type(data).__name__}")
        missing = sorted(set(_REQUIRED) - set(data))
        unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
        if missing or unknown:
            raise JobError(f"{where}: missing keys {missing}, unknown keys {unknown}")
        for key, value in data.items():
            types = _REQUIRED.get(key) or _OPTIONAL[key]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                names = "/".join(t.__name__ for t in types)
                raise JobError(f"{where}: {key}={value!r} is not of type {names}")
        kwargs = dict(data)
        kwargs["beams"] = tuple(int(b) for b in data["beams"])
        kwargs["channels"] = tuple(str(c) for c in data["channels"])
        kwargs["overrides"] = {str(k): str(v) for k, v in data["overrides"].items()}
        for key in ("sqrt_s", "y_cut", "timing_sqrt_s"):
            if kwargs.get(key) is not None:
                kwargs[key] = float(kwargs[key])
        return cls(**kwargs)

    @classmethod
    def read(cls, path: Path) -> DumpJob:
        """The job in the JSON file ``path``."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise JobError(f"{path}: not JSON ({err})") from None
        return cls.from_json(data, where=str(path))


@dataclass(frozen=True)
class SherpaChannel:
    """A partonic channel Sherpa built: its name, PDG ids in Sherpa's order, and the number incoming."""

    process: str
    pdg: tuple[int, ...]
    n_in: int

    def to_json(self) -> dict[str, Any]:
        return {"process": self.process, "pdg": list(self.pdg), "n_in": self.n_in}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SherpaChannel:
        return cls(str(data["process"]), tuple(int(p) for p in data["pdg"]), int(data["n_in"]))


@dataclass(frozen=True)
class ChannelSummary:
    """One finished dump of a channel: its size, file and median ``MatrixElement()`` times (ms)."""

    process: str
    pdg: tuple[int, ...]
    points: int
    file: str
    me_ms_per_point: float | None = None
    ps_ms_per_point: float | None = None
    me_cpu_ms_per_point: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "pdg": list(self.pdg)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChannelSummary:
        return cls(
            process=str(data["process"]),
            pdg=tuple(int(p) for p in data["pdg"]),
            points=int(data["points"]),
            file=str(data["file"]),
            me_ms_per_point=data.get("me_ms_per_point"),
            ps_ms_per_point=data.get("ps_ms_per_point"),
            me_cpu_ms_per_point=data.get("me_cpu_ms_per_point"),
        )


#: event-mode figures of a :class:`RunFigures` (written only in mode ``events``)
EVENT_KEYS = ("ps_ms_per_point", "gen_ms_per_event", "ps_cpu_ms_per_point", "gen_cpu_ms_per_event", "events")


@dataclass(kw_only=True)
class RunFigures:
    """The timings a dumper run reports besides its channels (keyword-only fields).

    ``timing`` and ``timing_cpu`` map each channel Sherpa built to the median wall / CPU ms of
    ``MatrixElement()`` at the job's timing points; mode ``events`` adds the phase-space and generation
    times per event (wall, CPU; :data:`EVENT_KEYS`) and the number of events.
    """

    timing: dict[str, float] | None = None
    timing_cpu: dict[str, float] | None = None
    ps_ms_per_point: float | None = None
    gen_ms_per_event: float | None = None
    ps_cpu_ms_per_point: float | None = None
    gen_cpu_ms_per_event: float | None = None
    events: int | None = None

    def run_figures(self) -> dict[str, Any]:
        """These figures by field name (keyword arguments of any :class:`RunFigures`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(RunFigures)}


@dataclass
class DumperResult(RunFigures):
    """What the dumper writes to the job's ``result`` file when a run succeeds.

    Times in seconds (``*_seconds``) or milliseconds per point / event (``*_ms_*``); ``timing`` and
    ``timing_cpu`` map each channel Sherpa built to the median wall / CPU ms of ``MatrixElement()`` at the
    job's timing points.
    """

    mode: str
    channels: list[ChannelSummary] = field(default_factory=list)
    sherpa_channels: list[SherpaChannel] = field(default_factory=list)
    comix_map: dict[str, str] = field(default_factory=dict)
    init_seconds: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    sherpa_version: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "channels": [c.to_json() for c in self.channels],
            "mode": self.mode,
            "sherpa_channels": [c.to_json() for c in self.sherpa_channels],
            "comix_map": self.comix_map,
            "init_seconds": self.init_seconds,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "sherpa_version": self.sherpa_version,
        }
        if self.timing is not None:
            out["timing"], out["timing_cpu"] = self.timing, self.timing_cpu
        if self.mode == "events":
            out.update({k: getattr(self, k) for k in EVENT_KEYS})
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DumperResult:
        return cls(
            mode=str(data["mode"]),
            channels=[ChannelSummary.from_json(c) for c in data.get("channels", [])],
            sherpa_channels=[SherpaChannel.from_json(c) for c in data.get("sherpa_channels", [])],
            comix_map=dict(data.get("comix_map", {})),
            init_seconds=float(data.get("init_seconds", 0.0)),
            seconds=float(data.get("seconds", 0.0)),
            cpu_seconds=float(data.get("cpu_seconds", 0.0)),
            sherpa_version=str(data.get("sherpa_version", "")),
            timing=data.get("timing"),
            timing_cpu=data.get("timing_cpu"),
            **{k: data.get(k) for k in EVENT_KEYS},
        )
