"""Settings of a validation run (:func:`sherpa_plugin.validate.validate`), importable without its numerics.

``fame validate --help`` builds its options from :class:`ValidateConfig` without importing the validation
stack (torch via the surrogates, matplotlib via the report).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ValidateConfig"]


@dataclass(frozen=True)
class ValidateConfig:
    """Settings of :func:`sherpa_plugin.validate.validate`.

    Parameters
    ----------
    eps : float
        ``Max_Epsilon`` of ``w_max`` and ``s_max`` (Sherpa's default 1e-3).
    eps_x : float
        ``Max_Epsilon`` of the stage-2 maximum ``x_max``.
    budget : str
        How the stage-1 ``Max_Epsilon`` excess is measured: ``"sigma"`` (cross section, default) or
        ``"surrogate"`` (surrogate weight); see :mod:`fame_surrogate.validation.unweighting`.
    temper : float or None
        β in (0, 1]: stage 1 uses ``sign(s)·|s|^β`` instead of the surrogate weight ``s``
        (:mod:`fame_surrogate.validation.temper`; the sample stays unbiased), for every channel.  1: ``s`` as
        it is.  None (default): each channel uses the β that ``fame train`` chose on its group's training
        events (``Bundle.stage1_temper``; the bundle's run-card snippet gives a host the same), 1 where none
        is recorded (e+e- groups, bundles written before β was recorded, a predictor that is not a
        bundle).  A β given here should be chosen on other events than these, e.g. with
        :func:`fame_surrogate.validation.scan_temper` on the training run.
    seed : int
        Seed of the accept/reject random numbers.
    max_points : int or None
        Use at most this many points per channel (the first ones; the data are in random order).
    n_bins : int
        Bins per closure observable.
    timing_points : int
        Points per timing call (``t_surr`` is the surrogate timed in one batch of this size: a host that
        batches).
    timing_events_batch1 : int
        Events timed one call each for ``t_surr_batch1`` (a host that calls the surrogate once per
        phase-space point, as a generator does), and with it ``f_eff_batch1``; 0: not measured.
    timing_repeats : int
        Timing repeats; the fastest is used.
    timing_clock : str
        Clock of the times measured here: ``"wall"`` (default) or ``"cpu"`` (CPU time of this process, all
        its threads: the cost per point that other jobs on a shared machine do not inflate).
    t_me_ms, t_surr_ms, t_ps_ms : float or None
        Fixed times per point (ms) instead of the data's or measured ones (a given ``t_surr_ms`` also
        stands for the per-event time).
    recorded_times : str
        Which of the data's recorded Sherpa times to use: ``"wall"`` (``me_ms_per_point``,
        ``ps_ms_per_point``) or ``"cpu"`` (``me_cpu_ms_per_point``, ``ps_cpu_ms_per_point``, which other jobs
        on a shared machine do not inflate; the wall ones where a dump has no CPU figure).
    gain_blocks : int
        f_eff and f_ideal are also computed on this many disjoint blocks of each channel's points (in their
        order; channels with fewer than 100 points per block are left out): their spread shows how much one
        validation run of that size can say, since where ε_full is ~1e-4 a handful of the highest weights set
        the maxima (at W + 4 jets one surrogate's f_eff/f_ideal spanned 0.38–0.99 over four 60k-event
        blocks).  1: not computed.
    report : bool
        Write the HTML report into ``out``.
    """

    eps: float = 1e-3
    eps_x: float = 1e-3
    budget: str = "sigma"
    temper: float | None = None
    seed: int = 0
    max_points: int | None = None
    n_bins: int = 12
    timing_points: int = 4096
    timing_events_batch1: int = 256
    timing_repeats: int = 3
    timing_clock: str = "wall"
    t_me_ms: float | None = None
    t_surr_ms: float | None = None
    t_ps_ms: float | None = None
    recorded_times: str = "wall"
    gain_blocks: int = 4
    report: bool = True

    def __post_init__(self) -> None:
        if self.temper is not None and not 0.0 < self.temper <= 1.0:
            raise ValueError(f"ValidateConfig.temper={self.temper}; expected 0 < temper <= 1")
        if self.gain_blocks < 1:
            raise ValueError(f"ValidateConfig.gain_blocks={self.gain_blocks}; expected >= 1")
        if self.recorded_times not in ("wall", "cpu"):
            raise ValueError(f"ValidateConfig.recorded_times={self.recorded_times!r}; expected wall or cpu")
        if self.timing_clock not in ("wall", "cpu"):
            raise ValueError(f"ValidateConfig.timing_clock={self.timing_clock!r}; expected wall or cpu")

    @property
    def channel_temper(self) -> float:
        """``temper`` once it is set for a channel (:func:`sherpa_plugin.validate.validate` sets a None
        ``temper`` to the bundle's β per channel); a ValueError while it is still None."""
        if self.temper is None:
            raise ValueError("ValidateConfig.temper is None: set it for the channel first (the bundle's β)")
        return self.temper
