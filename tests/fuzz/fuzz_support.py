"""How hard the fuzzers try. ``make test``: few examples, derandomized (the same inputs every run,
so CI is deterministic). ``make fuzz``: ``AUTOGATE_FUZZ_EXAMPLES`` (default there 2000) random
examples per property, remembered in hypothesis' example database so a failure replays first.

No deadline: a hang is caught by pytest-timeout on the test, not by a timing assertion.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("AUTOGATE_FUZZ_EXAMPLES", "0"))
LONG = EXAMPLES > 0


def fuzz(ci_examples: int = 60) -> settings:
    """Settings for one property: *ci_examples* in ``make test``, ``AUTOGATE_FUZZ_EXAMPLES`` in ``make fuzz``."""
    return settings(
        max_examples=EXAMPLES if LONG else ci_examples,
        derandomize=not LONG,
        database=None if not LONG else settings.default.database,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )
