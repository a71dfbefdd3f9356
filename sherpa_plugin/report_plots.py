"""The validation report's figures (matplotlib Agg, PNG files): the time split per multiplicity, the
accuracy histogram with its cumulative fractions, the ratio against the smallest ``s_ij/s``, and per channel
the weight and ``x = w/s`` distributions and the closure histograms with ratio panels.

:func:`write_plots` draws them all into a folder; :mod:`sherpa_plugin.report` places them on the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from fame_surrogate.validation import ACCURACY_LEVELS

from .report_data import ChannelData, TimeSplit, time_splits

F8 = npt.NDArray[np.float64]

__all__ = ["write_plots"]

_DPI = 80


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
        fr = c.summary.accuracy  # of c.ratio, computed once by validate
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
    a1.hist(ls[np.isfinite(ls)], bins=bins, histtype="step", lw=1.5, ls="--", label="stage-1 s (surrogate)")
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


def write_plots(channels: Sequence[ChannelData], folder: Path) -> dict[str, list[str]]:
    """Draw every figure of the report into ``folder``.

    Parameters
    ----------
    channels : sequence of ChannelData
        One entry per validated channel.
    folder : Path
        Where the PNG files go.

    Returns
    -------
    dict of str to list of str
        The file names (relative to ``folder``) per page section: ``time_split``, ``accuracy``,
        ``weights``, ``closure``.
    """
    images: dict[str, list[str]] = {"time_split": [], "accuracy": [], "weights": [], "closure": []}
    splits = time_splits([(c.n_out, c.summary) for c in channels])
    if splits:
        images["time_split"].append(_time_split_plot(splits, folder))
    images["accuracy"].append(_accuracy_plot(channels, folder))
    images["accuracy"].append(_ratio_vs_sij_plot(channels, folder))
    for i, c in enumerate(channels):
        images["weights"].append(_weights_plot(c, folder, i))
        images["closure"].append(_closure_plot(c, folder, i))
    return images
