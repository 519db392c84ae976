"""Ingest: signed gate messages from MQTT into the database, each exactly once.

    mqtt.py     the one paho client builder, and IngestService (subscribe, hand off, ack)
    worker.py   the worker thread: verify, store in one transaction, then ack; retry on DB outage
    store.py    what one verified message does to the database (gaps, crossings, alerts)
    rules.py    pure rules: which events raise which alerts, how a seq number is judged
    keyring.py  gate public keys from the database, cached
    metrics.py  counters for /healthz and /api/v1/metrics
"""
