"""sherpa_plugin: the Sherpa side of fame (Sherpa environment and dumper, run-card snippets, bundles,
two-stage unweighting and validation, Dask orchestration, the ``fame`` CLI).

The top layer: it may import ``fame_surrogate`` and ``lhe_tools``.
"""

from __future__ import annotations

__all__: list[str] = []


def __dir__() -> list[str]:
    return list(__all__)
