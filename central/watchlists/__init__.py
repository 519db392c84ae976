"""Watchlist management at central: entries, versions, CSV import and publication to gates.

``models`` (tables), ``service`` (changes, each one audited new version; snapshots and deltas),
``publisher`` (signed notice, delta and snapshot chunks over MQTT), ``stale`` (alarm when a gate
runs an old list), ``views`` (JSON API and the /watchlist page; ``init_app``), ``cli``.
"""
