"""The Sherpa-side dumper: runs under Sherpa's own Python (3.12/3.13, ``sherpa-mc``) as a subprocess.

Modules here import only numpy, ``Sherpa`` and the standard library (never lhe_tools or fame_surrogate).
The entry point is ``python -m sherpa_side.dumper JOB.json`` with ``PYTHONPATH`` set to the ``sherpa_plugin``
folder (see :mod:`sherpa_plugin.dump`, which builds the job and supervises the run).
"""

from __future__ import annotations

__all__: list[str] = []
