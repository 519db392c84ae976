"""Central: the Flask service that stores what gates report and lets officers act on it.

``create_app(settings)`` builds the web app (auth, console, JSON API); ``central.ingest`` is the
MQTT subscriber that turns signed gate messages into database rows exactly once; ``central.cli``
runs both (``autogate central serve``). Central imports ``protocol`` and never edge's runtime.
"""
