"""Web security pieces that sit in front of every view: request validation (no 500 from hostile
input), safe redirects, server-side session revocation and the trusted-proxy address.

Each module has one job and an ``init_app(app)`` where it hooks into Flask; ``central.app``
registers them."""
