"""The public API of the three packages, pinned (as pylhe does): a change here is a deliberate API change."""

from __future__ import annotations

import importlib

import pytest

import fame_surrogate
import lhe_tools
import sherpa_plugin

API = {
    "lhe_tools": [
        "DUMP_FORMAT", "DumpFormatError", "EventBatch", "EventBatchError", "EventFileError", "GroupMember",
        "GroupingConfig", "LHEFormatError", "LHEHeader", "LHEInit", "LHEProcess", "LHEReader", "NtupleError",
        "ReducedGroup", "WeightInfo", "atomic_dir", "atomic_path", "canonical_channel", "concatenate",
        "group_of", "json_default", "parse_process_name", "particle_name", "read_all", "read_dump",
        "read_events", "read_lhe", "read_lhe_header", "read_lheh5", "read_lheh5_meta", "read_ntuple",
        "reduce_channels", "write_dump", "write_ntuple",
    ],
    "fame_surrogate": [
        "CanonicalOrder", "ContractError", "DipoleBasis", "DipoleModel", "EEPhaseSpace", "EWParams",
        "Ensemble", "FeatureMap", "LeptonPairPropagator", "MLPModel", "OnnxSurrogate", "TrainConfig",
        "TrainResult",
        "UnsupportedProcessError", "accuracy", "build_model", "ee_beams", "ee_jets_pdg", "export_onnx",
        "generate_ee", "matrix_element", "min_sij_over_s", "pass_ycut", "rambo", "rambo_weight",
        "relative_deviation", "supports", "train_surrogate",
        # the validation numerics (fame_surrogate.validation), formerly exported by sherpa_plugin
        "Accuracy", "effective_gain", "ideal_gain", "max_epsilon", "two_stage", "unweight",
    ],
    "sherpa_plugin": [
        "Bundle", "BundleError", "DemoConfig", "DumpResult", "DumpSettings", "DumpSource", "ReweightConfig",
        "ReweightResult", "SherpaDumpError", "SnippetSettings",
        "SherpaNotAvailable", "ValidateConfig", "ValidationResult", "find_sherpa_python", "make_snippet",
        "reweight_file", "run_demo", "sherpa_dump", "train_bundle", "validate", "write_bundle",
    ],
}


@pytest.mark.parametrize("module", [lhe_tools, fame_surrogate, sherpa_plugin], ids=lambda m: m.__name__)
def test_public_api_is_pinned_and_resolves(module: object) -> None:
    name = module.__name__  # type: ignore[attr-defined]
    assert dir(module) == sorted(API[name])
    fresh = importlib.import_module(name)
    for attr in API[name]:
        assert getattr(fresh, attr) is not None
    assert not hasattr(module, "no_such_name")
