"""The validation report: ``index.html`` + PNGs + ``summary.json`` in one folder (matplotlib Agg, no network).

Contents: accuracy histograms (log10 of surrogate/exact ``|M|²`` per multiplicity), the ratio against the
smallest ``s_ij/s``, weight and ``x = w/s`` distributions with the maxima, closure plots with ratio panels,
the gain table (and a comparison of surrogates, e.g. MSE-only vs gain loss, when given).  The folder is
written atomically (:func:`lhe_tools.atomic_dir`); images are referenced by relative file names, so the page
opens from disk anywhere.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from lhe_tools import atomic_dir, json_default

from .closure import ClosureResult

F8 = npt.NDArray[np.float64]

__all__ = ["ChannelData", "write_report"]

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
    summary : mapping
        The channel's JSON summary (efficiencies, times, gains); shown in the tables.
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
    summary: Mapping[str, Any] = field(default_factory=dict)


def _lean(ax: Any, log_y: bool = False) -> None:
    """Few ticks, no minor ticks: tick layout dominates the rendering time of many small panels."""
    ax.xaxis.set_major_locator(MaxNLocator(5))
    if not log_y:
        ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())


def _save(fig: Figure, folder: Path, name: str) -> str:
    for ax in fig.axes:
        _lean(ax, ax.get_yscale() == "log")
    fig.savefig(folder / name, dpi=_DPI)
    plt.close(fig)
    return name


def _log10_abs(v: F8) -> F8:
    a = np.abs(v)
    return np.asarray(np.log10(np.where(a > 0, a, np.nan)))


def _accuracy_plot(channels: Sequence[ChannelData], folder: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lr_all = [_log10_abs(c.ratio) for c in channels]
    finite = np.concatenate([v[np.isfinite(v)] for v in lr_all])
    lim = float(np.quantile(np.abs(finite), 0.999)) if finite.size else 1.0
    lim = max(lim, 1e-3)
    bins = np.linspace(-lim, lim, 81).tolist()
    for c, lr in zip(channels, lr_all, strict=True):
        within = float(np.mean(np.abs(c.ratio - 1.0) < 0.01))
        ax.hist(
            np.clip(lr, -lim, lim),
            bins=bins,
            histtype="step",
            lw=1.5,
            label=f"{c.n_out} out: {c.process} ({100 * within:.2f}% within 1%)",
        )
    ax.set_yscale("log")
    ax.set_xlabel(r"$\log_{10}(|M|^2_{\rm surr} / |M|^2_{\rm exact})$")
    ax.set_ylabel("points")
    ax.set_title("Surrogate accuracy per multiplicity")
    ax.legend(fontsize=7)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.12, top=0.92)
    return _save(fig, folder, "accuracy.png")


def _ratio_vs_sij_plot(channels: Sequence[ChannelData], folder: Path) -> str:
    n = len(channels)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 4), squeeze=False)
    for ax, c in zip(axes[0], channels, strict=True):
        x = np.log10(c.min_sij)
        y = _log10_abs(c.ratio)
        ok = np.isfinite(x) & np.isfinite(y)
        lim = max(float(np.quantile(np.abs(y[ok]), 0.999)) if ok.any() else 1.0, 1e-3)
        ax.hist2d(x[ok], np.clip(y[ok], -lim, lim), bins=(50, 50), cmap="viridis", norm="log")
        ax.axhline(0.0, color="w", lw=0.8)
        ax.set_xlabel(r"$\log_{10}(\min s_{ij}/s)$")
        ax.set_ylabel(r"$\log_{10}$(surr/exact)")
        ax.set_title(c.process, fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.3)
    return _save(fig, folder, "ratio_vs_sij.png")


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
    "overweight_sigma_fraction": "σ share above weight 1",
}


def _table(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(_LABELS.get(c, c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<div class='wide'><table><tr>{head}</tr>{body}</table></div>"


_GAIN_COLS = (
    "process",
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


def _html(summary: Mapping[str, Any], images: Mapping[str, list[str]]) -> str:
    channels = summary.get("channels", {})
    gain_rows = [{"process": p, **v} for p, v in channels.items()]
    if len(channels) > 1:
        gain_rows.append({"process": "all channels", **{k: summary.get(k, "") for k in _GAIN_COLS[1:]}})
    clos_rows = []
    for p, v in channels.items():
        row: dict[str, Any] = {"process": p, "sigma_pull": v.get("sigma_pull", "")}
        sw, su = v.get("sigma_weighted", {}), v.get("sigma_unweighted", {})
        row["sigma_weighted"] = f"{sw.get('value', 0):.6g} ± {sw.get('error', 0):.2g}"
        row["sigma_unweighted"] = f"{su.get('value', 0):.6g} ± {su.get('error', 0):.2g}"
        row["expected unweighted events"] = v.get("closure_expected_unweighted", "")
        for k, pv in v.get("closure_p", {}).items():
            row[f"p[{k}]"] = "not tested" if pv is None else pv
        clos_rows.append(row)
    clos_cols = ["process", "sigma_weighted", "sigma_unweighted", "sigma_pull", "expected unweighted events"]
    for r in clos_rows:
        clos_cols += [k for k in r if k.startswith("p[") and k not in clos_cols]
    comp = summary.get("comparisons", {})
    comp_rows = [{"surrogate": name, "process": p, **v} for name, per in comp.items() for p, v in per.items()]
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
    times = summary.get("time_sources", {})
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>fame validation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>fame validation report</h1>",
        f"<p class='note'>Two-stage unweighting (SPEC §4.4) with Max_Epsilon maxima "
        f"(eps = {_fmt(summary.get('config', {}).get('eps', ''))}, "
        f"eps_x = {_fmt(summary.get('config', {}).get('eps_x', ''))}, stage-1 budget "
        f"{_fmt(summary.get('config', {}).get('budget', ''))}); seed "
        f"{_fmt(summary.get('config', {}).get('seed', ''))}. Cross sections in "
        f"{_fmt(summary.get('sigma_unit', ''))}.</p>",
        "<h2>Gain</h2>",
        "<p class='note'>f_eff = [(t_ME + t_PS)/ε_full] / [(t_surr + t_PS)/(ε_1 ε_2) + t_ME/ε_2];"
        " f_ideal: the same with a perfect surrogate (ε_1 = ε_full, ε_2 = 1); f_eff_alpha = α·f_eff."
        " Times in ms per point.</p>",
        _table(gain_rows, _GAIN_COLS),
        "<p class='note'>Time sources: "
        + "; ".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in times.items())
        + "</p>",
    ]
    if comp_rows:
        parts += ["<h2>Surrogate comparison</h2>", _table(comp_rows, comp_cols)]
    parts += [
        "<h2>Closure</h2>",
        "<p class='note'>χ² of the two-stage unweighted histograms against the exactly weighted ones"
        " (the same trials; errors: exact conditional variance of the unweighting), p-value per"
        " observable.</p>",
        _table(clos_rows, clos_cols),
    ]
    for title, key in (
        ("Accuracy", "accuracy"),
        ("Weights and x = w/s", "weights"),
        ("Closure plots", "closure"),
    ):
        parts.append(f"<h2>{title}</h2>")
        for img in images.get(key, []):
            parts.append(f"<img src='{html.escape(img)}' alt='{html.escape(img)}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


REPORT_MARKER = "fame-report.json"


def write_report(
    out: str | os.PathLike[str],
    channels: Sequence[ChannelData],
    summary: Mapping[str, Any],
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
    summary : mapping
        The JSON summary (as returned by :func:`sherpa_plugin.validate.validate`), stored verbatim.

    Returns
    -------
    Path
        ``out/index.html``.
    """
    if not channels:
        raise ValueError("a report needs at least one channel")
    target = Path(out)
    with atomic_dir(target, REPORT_MARKER, force=force) as tmp:
        images: dict[str, list[str]] = {"accuracy": [], "weights": [], "closure": []}
        images["accuracy"].append(_accuracy_plot(channels, tmp))
        images["accuracy"].append(_ratio_vs_sij_plot(channels, tmp))
        for i, c in enumerate(channels):
            images["weights"].append(_weights_plot(c, tmp, i))
            images["closure"].append(_closure_plot(c, tmp, i))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=json_default) + "\n")
        (tmp / "index.html").write_text(_html(summary, images), encoding="utf-8")
    return target / "index.html"
