"""Errors of the central service.

CentralError
 ├── ConfigurationError(CentralError, ValueError)   settings refuse to start (missing secret/key)
 ├── StoreUnavailable(CentralError, ConnectionError) the database cannot be reached; retry, ack nothing
 ├── NotFound(CentralError, LookupError)             a gate, alert or user that does not exist
 ├── InvalidRequest(CentralError, ValueError)        a request a service refuses (bad field, no reason)
 └── CommandNotSent(CentralError, ConnectionError)   a command was recorded but could not be published
"""


class CentralError(Exception):
    """Base of every error raised by central's own code."""


class ConfigurationError(CentralError, ValueError):
    """The settings are incomplete or unsafe for a non-demo start."""


class StoreUnavailable(CentralError, ConnectionError):
    """The database is unreachable; the message being stored must not be acknowledged."""


class NotFound(CentralError, LookupError):
    """The named record does not exist."""


class InvalidRequest(CentralError, ValueError):
    """A service refused the request as given."""


class CommandNotSent(CentralError, ConnectionError):
    """A command was recorded and audited but the broker did not take it."""
