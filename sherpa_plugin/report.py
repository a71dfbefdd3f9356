"""The validation report: ``index.html`` + PNGs + ``summary.json`` in one folder (no network; the figures
are drawn by :mod:`sherpa_plugin.report_plots`).

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
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fame_surrogate.validation import ACCURACY_LEVELS, Accuracy, GainSummary
from lhe_tools import atomic_dir, json_default

from .report_data import ChannelData
from .report_plots import write_plots
from .validate_config import ValidateConfig
from .validation_result import ChannelSummary, ComparisonRow, GainBlocks, ValidationResult

__all__ = ["REPORT_MARKER", "accuracy_row", "write_report"]


def _within(level: float) -> str:
    """Column header of the fraction within ``level``: ``within_0.1%``, ``within_1%``, ``within_10%``."""
    return f"within_{100 * level:g}%"


def accuracy_row(acc: Accuracy) -> dict[str, float]:
    """The accuracy table's columns of one channel: fractions within 0.1%, 1%, 10%, median and max |Δ|."""
    out = {_within(lvl): acc.within(lvl) for lvl in ACCURACY_LEVELS}
    out["median |Δ|"] = acc.median_abs_rel_dev
    out["max |Δ|"] = acc.max_abs_rel_dev
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def _temper_text(cfg: ValidateConfig, result: ValidationResult) -> str:
    """How stage 1 was tempered: the one β given, or the β each channel's group records in the bundle."""
    if cfg.temper is not None:
        return f"β = {_fmt(cfg.temper)}"
    betas = sorted({ch.temper for ch in result.channels.values()}) or [1.0]
    used = f"β = {_fmt(betas[0])}" if len(betas) == 1 else f"β {_fmt(betas[0])}–{_fmt(betas[-1])}"
    return f"{used}, as fame train chose it per group (1 where none is recorded; summary.json: temper)"


_LABELS = {
    "events_per_cpu_hour_standard": "events / CPU h (standard)",
    "events_per_cpu_hour_two_stage": "events / CPU h (two-stage)",
    "f_eff_over_ideal": "f_eff / f_ideal",
    "f_eff_over_ideal_blocks": "f_eff / f_ideal in blocks",
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
    "f_eff_over_ideal_blocks",
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
    "fast can gain here. 'In blocks': f_eff/f_ideal of disjoint blocks of the points, each unweighted alone; "
    "where a few of the highest weights set the maxima, its spread shows how far one run of that size pins "
    "the gain down."
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


def _blocks_cell(blocks: GainBlocks | None) -> str:
    """f_eff/f_ideal over the blocks of a channel, as "min–max (K × N points)"."""
    if blocks is None:
        return ""
    r = blocks.f_eff_over_ideal
    return f"{min(r):.3g}–{max(r):.3g} ({len(r)} × {blocks.block_points} points)"


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
                "f_eff_over_ideal_blocks": _blocks_cell(v.gain_blocks),
                "overweight_sigma_fraction": v.two_stage.overweight_sigma_fraction,
            }
            for p, v in per_channel.items()
        ),
        key=lambda r: (str(r["n_out"]), str(r["process"])),
    )
    if len(per_channel) > 1:
        gain_rows.append({"process": "all channels", **_gain_cells(result.gain, result.f_eff_over_ideal)})
    acc_rows = [
        {"process": c.process, "n_out": c.n_out, **accuracy_row(c.summary.accuracy)} for c in channels
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
        f"{_fmt(cfg.budget)}, stage-1 temper {_temper_text(cfg, result)}); seed {_fmt(cfg.seed)}. "
        "f_eff_alpha = α·f_eff with the overweight dilution α = (Σz)²/(N Σz²) of the final weights z. "
        f"Cross sections in {_fmt(result.sigma_unit)}.</p>",
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
        images = write_plots(channels, tmp)
        (tmp / "summary.json").write_text(json.dumps(result.to_json(), indent=1, default=json_default) + "\n")
        (tmp / "index.html").write_text(_html(result, images, channels), encoding="utf-8")
    return target / "index.html"
