"""central/wsgi.py: what a gunicorn web worker refuses to start without (the processes' test,
tests/e2e/test_e2e_web_processes.py, runs it for real)."""

from __future__ import annotations

import pytest

from central.errors import ConfigurationError
from central.settings import CentralSettings
from central.streams import GEVENT_DEFAULT_LIMIT, waitress_limit
from central.wsgi import create_application, running_under_gevent, stream_limit

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_a_worker_needs_one_secret_and_one_key_for_all_workers(tmp_path) -> None:
    """A secret or key generated per worker logs users out and makes gates refuse commands."""
    with pytest.raises(ConfigurationError, match="share one session secret"):
        create_application(CentralSettings(demo_mode=True, database_url=PG))


def test_a_worker_needs_a_bus_between_processes(tmp_path) -> None:
    key = tmp_path / "central.key"
    from protocol import generate_keypair

    generate_keypair().save(key)
    settings = CentralSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}", secret_key="s" * 40, central_key_file=key)
    with pytest.raises(ConfigurationError, match="bus between processes"):
        create_application(settings)


def test_streams_are_bounded_by_threads_outside_gevent() -> None:
    settings = CentralSettings(demo_mode=True)
    assert not running_under_gevent()  # the test process is not patched
    assert stream_limit(settings) == waitress_limit(settings.http) < GEVENT_DEFAULT_LIMIT
