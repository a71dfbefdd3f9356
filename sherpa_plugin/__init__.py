"""sherpa_plugin: the Sherpa side of fame (Sherpa environment and dumper, run-card snippets, bundles,
validation runs on a bundle and their report, Dask orchestration, the ``fame`` CLI; the validation
numerics themselves live in ``fame_surrogate.validation``).

The top layer: it may import ``fame_surrogate`` and ``lhe_tools``.  Names are imported on first use, so
``fame --help`` does not pay for dask, matplotlib and torch.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "Bundle": "bundle",
    "BundleError": "bundle_manifest",
    "write_bundle": "bundle_manifest",
    "DemoConfig": "demo_config",
    "run_demo": "demo",
    "DumpSettings": "dump",
    "DumpSource": "dump",
    "sherpa_dump": "dump",
    "DumpResult": "dump_result",
    "SherpaDumpError": "dump_runner",
    "train_bundle": "orchestrate",
    "ReweightResult": "reweight",
    "reweight_file": "reweight",
    "ReweightConfig": "reweight_config",
    "SherpaNotAvailable": "sherpa_env",
    "find_sherpa_python": "sherpa_env",
    "SnippetSettings": "snippet",
    "make_snippet": "snippet",
    "ValidateConfig": "validate_config",
    "ValidationResult": "validation_result",
    "validate": "validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sherpa_plugin' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return list(__all__)
