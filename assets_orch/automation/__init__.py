"""Automation: schedules, sensors, freshness, late sources, alerts and the daemon.

Each module does one job; :mod:`.daemon` ties them together around
:func:`assets_orch.runner.materialize`. Nothing here is imported by ``assets --help``.
"""
