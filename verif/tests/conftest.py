"""Benches on a simulator that is not installed are skipped with the reason, once per simulator.

``SIM=icarus`` on a machine without Icarus would otherwise fail every Icarus bench with
cocotb's "iverilog executable not found"; pytest's summary (``-ra``) groups the skips
under the one reason from :func:`sim.runner.missing_simulator`.
"""

import pytest

from sim.runner import SIMULATORS, missing_simulator


def pytest_collection_modifyitems(config, items):
    reasons = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        sim = callspec.params.get("sim") if callspec else None
        if sim not in SIMULATORS:
            continue
        if sim not in reasons:
            reasons[sim] = missing_simulator(sim)
        if reasons[sim]:
            item.add_marker(pytest.mark.skip(reason=reasons[sim]))
