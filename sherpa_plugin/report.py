"""The validation report: ``index.html`` + PNGs + ``summary.json`` in one folder (matplotlib Agg, no network).

The page opens with the gain table (ε_full, ε_1, ε_2, f_eff, f_ideal, f_eff/f_ideal and the times per channel)
and the time split per multiplicity (CPU per unweighted event, standard vs two-stage, in phase space,
surrogate and exact ME), then states the method (two-stage unweighting, arXiv:2109.11964, 2301.13562) and
its formula.  Then: a comparison of surrogates (e.g. MSE-only vs gain loss, when given), the accuracy (table
of the fractions within 0.1% / 1% / 10%, the histogram of ``|surr/exact − 1|`` over its whole range with the
cumulative fractions, the ratio against the smallest ``s_ij/s``), closure (table and plots with ratio
panels), weight and ``x = w/s`` distributions with the maxima.  The folder is
written atomically (:func:`lhe_tools.atomic_dir`); images are referenced by relative file names, so the page
opens from disk anywhere.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from fame_surrogate.validation import ACCURACY_LEVELS, Accuracy, ClosureResult, GainSummary
from lhe_tools import atomic_dir, json_default

from .validation_result import ChannelSummary, ComparisonRow, ValidationResult

F8 = npt.NDArray[np.float64]

__all__ = ["ChannelData", "TimeSplit", "accuracy_row", "time_splits", "write_report"]

_DPI = 80


@dataclass(frozen=True, eq=False)
class ChannelData:
    """What the report shows for one channel (arrays over the N validation points).

    Parameters
    ----------
    process : str
        Sherpa process name.
    n_out : int
        Final-state multiplicity.
    ratio : ndarray, float64, shape (N,)
        Surrogate / exact ``|M|²``.
    min_sij : ndarray, float64, shape (N,)
        Smallest final-state ``s_ij / s``.
    w, s : ndarray, float64, shape (N,)
        Exact and surrogate weights.
    w_max, s_max, x_max : float
        Unweighting maxima.
    closure : ClosureResult
        The closure test.
    summary : ChannelSummary
        The channel's figures (efficiencies, times, gains, closure); shown in the tables.
    """

    process: str
    n_out: int
    ratio: F8
    min_sij: F8
    w: F8
    s: F8
    w_max: float
    s_max: float
    x_max: float
    closure: ClosureResult
    summary: ChannelSummary


def _lean(ax: Any, log_y: bool = False, log_x: bool = False) -> None:
    """Few ticks, no minor ticks: tick layout dominates the rendering time of many small panels."""
    ax.xaxis.set_major_locator(LogLocator(numticks=8) if log_x else MaxNLocator(5))
    if not log_y:
        ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())


def _save(fig: Figure, folder: Path, name: str) -> str:
    for ax in fig.axes:
        _lean(ax, ax.get_yscale() == "log", ax.get_xscale() == "log")
    fig.savefig(folder / name, dpi=_DPI)
    plt.close(fig)
    return name


def _log10_abs(v: F8) -> F8:
    a = np.abs(v)
    return np.asarray(np.log10(np.where(a > 0, a, np.nan)))


#: |Δ| below this is drawn in the accuracy histogram's lowest bin (log scale needs a floor)
_DEV_FLOOR = 1e-9


def _within(level: float) -> str:
    """Column header of the fraction within ``level``: ``within_0.1%``, ``within_1%``, ``within_10%``."""
    return f"within_{100 * level:g}%"


def accuracy_row(acc: Accuracy) -> dict[str, float]:
    """The accuracy table's columns of one channel: fractions within 0.1%, 1%, 10%, median and max |Δ|."""
    out = {_within(lvl): acc.within(lvl) for lvl in ACCURACY_LEVELS}
    out["median |Δ|"] = acc.median_abs_rel_dev
    out["max |Δ|"] = acc.max_abs_rel_dev
    return out


def _accuracy_plot(channels: Sequence[ChannelData], folder: Path) -> str:
    """|surr/exact − 1| over its whole range (no clipping: the tails are what unweighting pays for), and the
    cumulative fraction of points within a given deviation, marked at 0.1%, 1% and 10%."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6))
    devs = [np.maximum(np.abs(c.ratio - 1.0), _DEV_FLOOR) for c in channels]
    devs = [d[np.isfinite(d)] for d in devs]
    finite = np.concatenate(devs) if devs else np.array([1e-3])
    lo = math.floor(math.log10(max(float(finite.min()), _DEV_FLOOR)))
    hi = max(math.ceil(math.log10(float(finite.max()))), 0)
    bins = np.logspace(lo, hi, 12 * (hi - lo) + 1).tolist()
    for k, (c, d) in enumerate(zip(channels, devs, strict=True)):
        fr = Accuracy.of_ratio(c.ratio)
        label = (
            f"{c.n_out} out: {c.process}\nwithin 0.1% / 1% / 10%: {100 * fr.frac_within_0p1pct:.1f} / "
            f"{100 * fr.frac_within_1pct:.1f} / {100 * fr.frac_within_10pct:.2f}%"
        )
        a1.hist(d, bins=bins, histtype="step", lw=1.5, color=f"C{k}")
        xs = np.sort(d)
        a2.step(xs, np.arange(1, xs.size + 1) / xs.size, where="post", color=f"C{k}", lw=1.5)
        a2.plot(ACCURACY_LEVELS, [fr.within(lvl) for lvl in ACCURACY_LEVELS], "o",
                color=f"C{k}", ms=4, label=label)
    for ax in (a1, a2):
        ax.set_xscale("log")
        for lvl in ACCURACY_LEVELS:
            ax.axvline(lvl, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel(r"$|\,|M|^2_{\rm surr} / |M|^2_{\rm exact} - 1\,|$")
    a1.set_yscale("log")
    a1.set_ylabel("points")
    a1.set_title("Surrogate accuracy, whole range (dotted: 0.1%, 1%, 10%)", fontsize=9)
    a2.set_ylim(0.0, 1.02)
    a2.set_ylabel("fraction of points within")
    a2.set_title("Cumulative fraction within |Δ| (dots: 0.1%, 1%, 10%)", fontsize=9)
    a2.legend(fontsize=7, loc="upper left")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.22)
    return _save(fig, folder, "accuracy.png")


def _ratio_vs_sij_plot(channels: Sequence[ChannelData], folder: Path) -> str:
    n = len(channels)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 4), squeeze=False)
    for ax, c in zip(axes[0], channels, strict=True):
        x = np.log10(c.min_sij)
        y = _log10_abs(c.ratio)
        ok = np.isfinite(x) & np.isfinite(y)
        ax.hist2d(x[ok], y[ok], bins=(50, 50), cmap="viridis", norm="log")  # whole range, tails included
        ax.axhline(0.0, color="w", lw=0.8)
        ax.set_xlabel(r"$\log_{10}(\min s_{ij}/s)$")
        ax.set_ylabel(r"$\log_{10}$(surr/exact)")
        ax.set_title(c.process, fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.3)
    return _save(fig, folder, "ratio_vs_sij.png")


@dataclass(frozen=True)
class TimeSplit:
    """CPU milliseconds per unweighted event of one multiplicity, by where they go.

    Standard unweighting pays phase space and exact ME for every trial: ``(t_PS + t_ME)/ε_full``.  Two-stage
    pays phase space and surrogate for every trial, ``(t_PS + t_surr)/(ε_1 ε_2)``, and the exact ME only for
    the stage-1 survivors, ``t_ME/ε_2``.  With several channels of one multiplicity the costs are their
    cross-section-weighted means (the mix an event generator produces).
    """

    n_out: int
    channels: int
    standard_ps: float
    standard_me: float
    two_stage_ps: float
    two_stage_surr: float
    two_stage_me: float

    @property
    def standard(self) -> float:
        """Total ms per unweighted event, standard unweighting."""
        return self.standard_ps + self.standard_me

    @property
    def two_stage(self) -> float:
        """Total ms per unweighted event, two-stage unweighting."""
        return self.two_stage_ps + self.two_stage_surr + self.two_stage_me


def time_splits(summaries: Sequence[tuple[int, ChannelSummary]]) -> list[TimeSplit]:
    """One :class:`TimeSplit` per multiplicity from ``(n_out, channel summary)`` pairs (validate's rows)."""
    by_n: dict[int, list[ChannelSummary]] = {}
    for n_out, row in summaries:
        by_n.setdefault(n_out, []).append(row)
    out = []
    for n_out in sorted(by_n):
        rows = by_n[n_out]
        gains = [r.two_stage.gain for r in rows]
        sig = np.array([abs(r.sigma_weighted.value) for r in rows])
        frac = sig / sig.sum() if sig.sum() > 0 else np.full(len(rows), 1.0 / len(rows))

        def mean(
            fn: Callable[[GainSummary], float], gains: list[GainSummary] = gains, frac: F8 = frac
        ) -> float:
            return float(sum(f * fn(g) for f, g in zip(frac, gains, strict=True)))

        out.append(
            TimeSplit(
                n_out=n_out,
                channels=len(rows),
                standard_ps=mean(lambda g: g.t_ps / g.eps_full),
                standard_me=mean(lambda g: g.t_me / g.eps_full),
                two_stage_ps=mean(lambda g: g.t_ps / (g.eps_1 * g.eps_2)),
                two_stage_surr=mean(lambda g: g.t_surr / (g.eps_1 * g.eps_2)),
                two_stage_me=mean(lambda g: g.t_me / g.eps_2),
            )
        )
    return out


def _time_split_plot(splits: Sequence[TimeSplit], folder: Path) -> str:
    n = len(splits)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.0 + 1.55 * n), squeeze=False)  # one panel per multiplicity
    parts = (("phase space", "C0"), ("surrogate", "C1"), ("exact ME", "C3"))
    for ax, sp in zip(axes[:, 0], splits, strict=True):
        bars = {
            "standard": (sp.standard_ps, 0.0, sp.standard_me),
            "two-stage": (sp.two_stage_ps, sp.two_stage_surr, sp.two_stage_me),
        }
        for y, vals in enumerate(bars.values()):
            left = 0.0
            for (label, colour), v in zip(parts, vals, strict=True):
                ax.barh(y, v, left=left, color=colour, height=0.6, label=label if y == 1 else None)
                left += v
            ax.text(left, y, f" {left:.3g} ms", va="center", fontsize=8)
        ax.set_yticks([0, 1], list(bars))
        ax.set_ylim(-0.5, 1.5)
        ax.set_xlim(0, 1.22 * max(sp.standard, sp.two_stage))
        ax.invert_yaxis()
        extra = f", {sp.channels} channels" if sp.channels > 1 else ""
        ax.text(0.99, 0.5, f"{sp.n_out} out{extra}\nf_eff = {sp.standard / sp.two_stage:.3g}",
                transform=ax.transAxes, ha="right", va="center", fontsize=9)
    axes[0, 0].legend(fontsize=8, ncol=3, loc="lower left", bbox_to_anchor=(0.0, 1.02), frameon=False)
    axes[-1, 0].set_xlabel("CPU ms per unweighted event")
    height = 1.0 + 1.55 * n
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.5 / height + 0.08, top=1 - 0.45 / height, hspace=0.45)
    return _save(fig, folder, "time_split.png")


def _weights_plot(c: ChannelData, folder: Path, index: int) -> str:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    lw, ls = _log10_abs(c.w), _log10_abs(c.s)
    both = np.concatenate([lw[np.isfinite(lw)], ls[np.isfinite(ls)]])
    bins = np.linspace(float(both.min()), float(both.max()), 80).tolist()
    a1.hist(lw[np.isfinite(lw)], bins=bins, histtype="step", lw=1.5, label="exact w")
    a1.hist(ls[np.isfinite(ls)], bins=bins, histtype="step", lw=1.5, ls="--", label="surrogate s")
    a1.axvline(math.log10(c.w_max), color="C0", lw=1, label=r"$w_{\max}$")
    a1.axvline(math.log10(c.s_max), color="C1", lw=1, ls="--", label=r"$s_{\max}$")
    a1.set_yscale("log")
    a1.set_xlabel(r"$\log_{10}|{\rm weight}|$")
    a1.set_ylabel("points")
    a1.legend(fontsize=8)
    a1.set_title(f"weights: {c.process}", fontsize=9)
    x = np.divide(c.w, c.s, out=np.zeros_like(c.w), where=c.s != 0)
    lx = _log10_abs(x)
    lx = lx[np.isfinite(lx)]
    a2.hist(lx, bins=80, weights=None, histtype="step", lw=1.5, label="points")
    a2.hist(
        lx,
        bins=80,
        weights=np.abs(c.s)[np.isfinite(_log10_abs(x))] / np.sum(np.abs(c.s)) * lx.size,
        histtype="step",
        lw=1.5,
        ls="--",
        label=r"$|s|$-weighted (stage-2 input)",
    )
    a2.axvline(math.log10(c.x_max), color="k", lw=1, label=r"$x_{\max}$")
    a2.set_yscale("log")
    a2.set_xlabel(r"$\log_{10}|x|,\ x = w/s$")
    a2.legend(fontsize=8)
    a2.set_title("stage-2 ratio", fontsize=9)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.91, wspace=0.2)
    return _save(fig, folder, f"weights_{index}.png")


def _closure_plot(c: ChannelData, folder: Path, index: int) -> str:
    names = list(c.closure.histograms)
    ncol = 3
    nrow = max(1, math.ceil(len(names) / ncol))
    fig = plt.figure(figsize=(4.2 * ncol, 3.6 * nrow))
    outer = fig.add_gridspec(nrow, ncol, hspace=0.45, wspace=0.3)
    for k, name in enumerate(names):
        h = c.closure.histograms[name]
        inner = outer[k // ncol, k % ncol].subgridspec(2, 1, height_ratios=(3, 1), hspace=0.05)
        top = fig.add_subplot(inner[0])
        bot = fig.add_subplot(inner[1], sharex=top)
        widths = np.diff(h.edges)
        centres = 0.5 * (h.edges[1:] + h.edges[:-1])
        top.stairs(h.weighted / widths, h.edges, label="weighted (exact)", lw=1.5)
        top.errorbar(
            centres,
            h.unweighted / widths,
            yerr=h.unweighted_err / widths,
            fmt="o",
            ms=3,
            label="two-stage unweighted",
        )
        # a text label, not set_title: titles trigger a costly tight-bbox pass per panel
        label = "not tested (too few unweighted events)" if np.isnan(h.p_value) else f"p = {h.p_value:.3f}"
        top.text(0.03, 0.95, f"{name}\n{label}", transform=top.transAxes, va="top", fontsize=8)
        top.tick_params(labelbottom=False, labelsize=7)
        if k == 0:
            top.legend(fontsize=7)
        ref = np.where(h.weighted != 0, h.weighted, np.nan)
        bot.axhline(1.0, color="k", lw=0.8)
        bot.errorbar(centres, h.unweighted / ref, yerr=h.diff_err / np.abs(ref), fmt="o", ms=3)
        bot.tick_params(labelsize=7)
        bot.set_xlabel(name, fontsize=8)
    fig.suptitle(f"Closure: {c.process}", fontsize=10)
    return _save(fig, folder, f"closure_{index}.png")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


_LABELS = {
    "events_per_cpu_hour_standard": "events / CPU h (standard)",
    "events_per_cpu_hour_two_stage": "events / CPU h (two-stage)",
    "f_eff_over_ideal": "f_eff / f_ideal",
    "frac_within_1pct": "within 1%",
    "n_out": "final state",
    "t_me_ms": "t_ME",
    "t_surr_ms": "t_surr",
    "t_ps_ms": "t_PS",
    "overweight_sigma_fraction": "σ share above weight 1",
}


def _table(rows: Sequence[Mapping[str, object]], cols: Sequence[str]) -> str:
    """An HTML table of display rows (column name to cell; a missing cell is empty)."""
    head = "".join(f"<th>{html.escape(_LABELS.get(c, c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<div class='wide'><table><tr>{head}</tr>{body}</table></div>"


_GAIN_COLS = (
    "process",
    "n_out",
    "eps_full",
    "eps_1",
    "eps_2",
    "alpha",
    "t_me_ms",
    "t_surr_ms",
    "t_ps_ms",
    "f_eff",
    "f_ideal",
    "f_eff_over_ideal",
    "f_eff_alpha",
    "overweight_sigma_fraction",
    "events_per_cpu_hour_standard",
    "events_per_cpu_hour_two_stage",
)

_CSS = (
    "body{font-family:sans-serif;margin:20px;max-width:1400px;color:#111}"
    "table{border-collapse:collapse;margin:8px 0 18px}td,th{border:1px solid #999;padding:3px 7px;"
    "font-size:13px;text-align:right}th{background:#e4e8f0}img{max-width:100%;border:1px solid #ddd;"
    "margin:6px 0}.wide{overflow-x:auto}td:first-child{white-space:nowrap;text-align:left}"
    "h2{border-bottom:2px solid #446;padding-bottom:3px}.note{color:#444;font-size:13px}"
)


METHOD_NOTE = (
    "Two-stage unweighting (Danziger, Janßen, Schumann, Siegert, arXiv:2109.11964; Janßen, Maître, "
    "Schumann, Siegert, Truong, arXiv:2301.13562): the surrogate weight s = w·|M|²_surr/|M|²_exact "
    "decides first, keeping a point with probability min(1, |s|/s_max) (ε_1 = ⟨|s|⟩/s_max); only the "
    "survivors get the exact |M|², and x = w/s decides second, min(1, |x|/x_max) (ε_2). Final weights "
    "sign(w)·max(1, |s|/s_max)·max(1, |x|/x_max): overweights are kept, so the sample is unbiased whatever "
    "the surrogate. Standard unweighting keeps a point with min(1, |w|/w_max), ε_full = ⟨|w|⟩/w_max. "
    "Effective gain f_eff = [(t_ME + t_PS)/ε_full] / [(t_surr + t_PS)/(ε_1 ε_2) + t_ME/ε_2]; f_ideal is "
    "f_eff of a perfect surrogate (ε_1 = ε_full, ε_2 = 1) with the same times, the most any surrogate this "
    "fast can gain here."
)


def _gain_cells(g: GainSummary, f_eff_over_ideal: float) -> dict[str, object]:
    """The gain table's figures of one channel, or of all channels (times per point as ``t_*_ms``)."""
    return {
        "eps_full": g.eps_full,
        "eps_1": g.eps_1,
        "eps_2": g.eps_2,
        "alpha": g.alpha,
        "t_me_ms": g.t_me,
        "t_surr_ms": g.t_surr,
        "t_ps_ms": g.t_ps,
        "f_eff": g.f_eff,
        "f_ideal": g.f_ideal,
        "f_eff_over_ideal": f_eff_over_ideal,
        "f_eff_alpha": g.f_eff_alpha,
        "events_per_cpu_hour_standard": g.events_per_cpu_hour_standard,
        "events_per_cpu_hour_two_stage": g.events_per_cpu_hour_two_stage,
    }


def _comparison_cells(name: str, process: str, row: ComparisonRow) -> dict[str, object]:
    """The comparison table's row of one surrogate on one channel."""
    g = row.two_stage.gain
    return {
        "surrogate": name,
        "process": process,
        "frac_within_1pct": row.accuracy.frac_within_1pct,
        "eps_1": g.eps_1,
        "eps_2": g.eps_2,
        "alpha": g.alpha,
        "t_surr_ms": g.t_surr,
        "f_eff": g.f_eff,
        "f_ideal": g.f_ideal,
        "f_eff_over_ideal": row.two_stage.f_eff_over_ideal,
        "overweight_sigma_fraction": row.two_stage.overweight_sigma_fraction,
    }


def _closure_cells(process: str, v: ChannelSummary) -> dict[str, object]:
    """The closure table's row of one channel: σ both ways, the pull, the p-value per observable."""
    sw, su = v.sigma_weighted, v.sigma_unweighted
    row: dict[str, object] = {
        "process": process,
        "sigma_pull": v.sigma_pull,
        "sigma_weighted": f"{sw.value:.6g} ± {sw.error:.2g}",
        "sigma_unweighted": f"{su.value:.6g} ± {su.error:.2g}",
        "expected unweighted events": v.closure_expected_unweighted,
    }
    for k, pv in v.closure_p.items():
        row[f"p[{k}]"] = "not tested" if pv is None else pv
    return row


def _html(
    result: ValidationResult, images: Mapping[str, list[str]], channels: Sequence[ChannelData] = ()
) -> str:
    per_channel = result.channels
    n_out = {c.process: c.n_out for c in channels}
    gain_rows = sorted(
        (
            {
                "process": p,
                "n_out": n_out.get(p, ""),
                **_gain_cells(v.two_stage.gain, v.two_stage.f_eff_over_ideal),
                "overweight_sigma_fraction": v.two_stage.overweight_sigma_fraction,
            }
            for p, v in per_channel.items()
        ),
        key=lambda r: (str(r["n_out"]), str(r["process"])),
    )
    if len(per_channel) > 1:
        gain_rows.append({"process": "all channels", **_gain_cells(result.gain, result.f_eff_over_ideal)})
    acc_rows = [
        {"process": c.process, "n_out": c.n_out, **accuracy_row(Accuracy.of_ratio(c.ratio))} for c in channels
    ]
    acc_cols = ["process", "n_out", *(_within(lvl) for lvl in ACCURACY_LEVELS), "median |Δ|", "max |Δ|"]
    clos_rows = [_closure_cells(p, v) for p, v in per_channel.items()]
    clos_cols = ["process", "sigma_weighted", "sigma_unweighted", "sigma_pull", "expected unweighted events"]
    for r in clos_rows:
        clos_cols += [k for k in r if k.startswith("p[") and k not in clos_cols]
    comp_rows = [
        _comparison_cells(name, p, v) for name, per in result.comparisons.items() for p, v in per.items()
    ]
    comp_cols = [
        "surrogate",
        "process",
        "frac_within_1pct",
        "eps_1",
        "eps_2",
        "alpha",
        "t_surr_ms",
        "f_eff",
        "f_ideal",
        "f_eff_over_ideal",
        "overweight_sigma_fraction",
    ]
    times = result.time_sources
    cfg = result.config

    def imgs(key: str) -> list[str]:
        return [f"<img src='{html.escape(i)}' alt='{html.escape(i)}'>" for i in images.get(key, [])]

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>fame validation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>fame validation report</h1>",
        "<h2>Gain per multiplicity</h2>",
        _table(gain_rows, _GAIN_COLS),
        "<p class='note'>Times in ms per phase-space point. Time sources: "
        + "; ".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in times.items())
        + "</p>",
        *imgs("time_split"),
        "<p class='note'>Where the CPU time per unweighted event goes: standard unweighting pays phase space "
        "and exact ME for every trial, (t_PS + t_ME)/ε_full; two-stage pays phase space and surrogate for "
        "every trial, (t_PS + t_surr)/(ε_1 ε_2), and the exact ME only for the stage-1 survivors, "
        "t_ME/ε_2.</p>",
        f"<p class='note'>{html.escape(METHOD_NOTE)} Maxima by Sherpa's Max_Epsilon rule "
        f"(ε = {_fmt(cfg.eps)}, ε_x = {_fmt(cfg.eps_x)}, stage-1 budget "
        f"{_fmt(cfg.budget)}); seed {_fmt(cfg.seed)}. f_eff_alpha = α·f_eff with the "
        f"overweight dilution α = (Σz)²/(N Σz²) of the final weights z. Cross sections in "
        f"{_fmt(result.sigma_unit)}.</p>",
    ]
    if comp_rows:
        parts += ["<h2>Surrogate comparison</h2>", _table(comp_rows, comp_cols)]
    parts += [
        "<h2>Accuracy</h2>",
        "<p class='note'>Fraction of the validation points whose surrogate |M|² lies within 0.1%, 1% and 10% "
        "of the exact one; the histogram shows the whole range of |surr/exact − 1|, tails included.</p>",
        _table(acc_rows, acc_cols),
        *imgs("accuracy"),
        "<h2>Closure</h2>",
        "<p class='note'>χ² of the two-stage unweighted histograms against the exactly weighted ones"
        " (the same trials; errors: exact conditional variance of the unweighting), p-value per"
        " observable.</p>",
        _table(clos_rows, clos_cols),
    ]
    for title, key in (("Weights and x = w/s", "weights"), ("Closure plots", "closure")):
        parts.append(f"<h2>{title}</h2>")
        parts += imgs(key)
    parts.append("</body></html>")
    return "\n".join(parts)


REPORT_MARKER = "fame-report.json"


def write_report(
    out: str | os.PathLike[str],
    channels: Sequence[ChannelData],
    result: ValidationResult,
    *,
    force: bool = False,
) -> Path:
    """Write ``out/index.html``, its PNGs and ``out/summary.json`` (atomically).

    ``out`` must be new, empty or a previous report (it holds ``fame-report.json``, which lists the report's
    files); only those files are replaced.  With ``force`` a non-empty folder receives the report and keeps
    its other files.

    Parameters
    ----------
    out : path
        Report folder.
    channels : sequence of ChannelData
        One entry per validated channel.
    result : ValidationResult
        What :func:`sherpa_plugin.validate.validate` found; ``summary.json`` holds its ``to_json()``.

    Returns
    -------
    Path
        ``out/index.html``.
    """
    if not channels:
        raise ValueError("a report needs at least one channel")
    target = Path(out)
    with atomic_dir(target, REPORT_MARKER, force=force) as tmp:
        images: dict[str, list[str]] = {"time_split": [], "accuracy": [], "weights": [], "closure": []}
        splits = time_splits([(c.n_out, c.summary) for c in channels])
        if splits:
            images["time_split"].append(_time_split_plot(splits, tmp))
        images["accuracy"].append(_accuracy_plot(channels, tmp))
        images["accuracy"].append(_ratio_vs_sij_plot(channels, tmp))
        for i, c in enumerate(channels):
            images["weights"].append(_weights_plot(c, tmp, i))
            images["closure"].append(_closure_plot(c, tmp, i))
        (tmp / "summary.json").write_text(json.dumps(result.to_json(), indent=1, default=json_default) + "\n")
        (tmp / "index.html").write_text(_html(result, images, channels), encoding="utf-8")
    return target / "index.html"
