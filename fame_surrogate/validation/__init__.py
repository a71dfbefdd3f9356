"""Validation numerics: Max_Epsilon maxima, (two-stage) unweighting, gain, closure, observables, accuracy.

Pure physics numerics (numpy; the Max_Epsilon maximum and stage efficiencies also on torch tensors for
:mod:`fame_surrogate.gain_loss`), no Sherpa, bundle or Dask: ``sherpa_plugin.validate`` runs them on a
bundle's surrogates.  Re-exports only.
"""

from __future__ import annotations

from .accuracy import (
    ACCURACY_LEVELS,
    Accuracy,
    abs_ratio_deviation,
    accuracy,
    relative_deviation,
    weighted_log_spread,
)
from .closure import (
    MIN_EXPECTED,
    ClosureResult,
    HistogramComparison,
    SigmaEstimate,
    closure_test,
    equal_weight_edges,
    mean_with_error,
    trial_histogram,
)
from .efficiency import (
    STAGE1_BUDGETS,
    check_budget,
    reduced_maximum,
    stage1_maximum,
    stage2_maximum,
    stage_efficiencies,
)
from .gain import (
    MS_PER_HOUR,
    Baseline,
    BaselineComparison,
    BaselineGain,
    GainSummary,
    compare_baselines,
    effective_gain,
    events_per_cpu_hour_standard,
    events_per_cpu_hour_two_stage,
    gain_against,
    ideal_gain,
    ms_per_event_standard,
    ms_per_event_two_stage,
    standard_efficiency,
    summarize_gain,
)
from .observables import (
    ee_observables,
    is_lepton_collision,
    observables,
    pair_masses,
    pp_observables,
    rapidity,
    thrust,
    transverse_momentum,
)
from .unweighting import (
    TwoStageResult,
    UnweightResult,
    excess_fraction,
    kish_alpha,
    max_epsilon,
    two_stage,
    unweight,
)

__all__ = [
    "ACCURACY_LEVELS",
    "MIN_EXPECTED",
    "MS_PER_HOUR",
    "STAGE1_BUDGETS",
    "Accuracy",
    "Baseline",
    "BaselineComparison",
    "BaselineGain",
    "ClosureResult",
    "GainSummary",
    "HistogramComparison",
    "SigmaEstimate",
    "TwoStageResult",
    "UnweightResult",
    "abs_ratio_deviation",
    "accuracy",
    "check_budget",
    "closure_test",
    "compare_baselines",
    "ee_observables",
    "effective_gain",
    "equal_weight_edges",
    "events_per_cpu_hour_standard",
    "events_per_cpu_hour_two_stage",
    "excess_fraction",
    "gain_against",
    "ideal_gain",
    "is_lepton_collision",
    "kish_alpha",
    "max_epsilon",
    "mean_with_error",
    "ms_per_event_standard",
    "ms_per_event_two_stage",
    "observables",
    "pair_masses",
    "pp_observables",
    "rapidity",
    "reduced_maximum",
    "relative_deviation",
    "stage1_maximum",
    "stage2_maximum",
    "stage_efficiencies",
    "standard_efficiency",
    "summarize_gain",
    "thrust",
    "transverse_momentum",
    "trial_histogram",
    "two_stage",
    "unweight",
    "weighted_log_spread",
]
