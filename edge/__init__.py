"""The gate side of autogate: recognition engines, hardware adapters, the gate runtime.

Engines (``mrz``, ``face``, ``fingerprint``, ``watchlist``) are pure and are also used by central;
the runtime (``gate``, ``hardware``, ``link``) never imports central.
"""
