"""The test suite and a shared broker (issue 19, item 10): the suite deletes the retained messages
it leaves, and another program's retained messages do not make a test fail.

Before, every run left its gates' retained state and last will on 127.0.0.1:1883, and a retained
watchlist notice left there by another program failed the raw-handler test of the link (now run
with such a notice too: tests/link/test_link_mqtt.py).
"""

from __future__ import annotations

import uuid

from broker_support import clear_new_retained, retained_messages

from protocol.topics import gate_state


def _credentials(broker) -> dict[str, object]:
    return {"username": broker.username, "password": broker.password}


def test_what_the_tests_leave_is_deleted_and_what_was_there_stays(mqtt_broker, subscribe) -> None:
    client = subscribe(f"autogate-test-unused/{uuid.uuid4().hex}")
    there_before = gate_state(f"T{uuid.uuid4().hex[:10]}")
    left_by_test = gate_state(f"T{uuid.uuid4().hex[:10]}")
    client.publish(there_before, b"another program's", retain=True)
    try:
        before = retained_messages(mqtt_broker.host, mqtt_broker.port, **_credentials(mqtt_broker))
        assert before[there_before] == b"another program's"
        client.publish(left_by_test, b"a test's", retain=True)
        deleted = clear_new_retained(mqtt_broker.host, mqtt_broker.port, before, **_credentials(mqtt_broker))
        assert left_by_test in deleted and there_before not in deleted
        after = retained_messages(mqtt_broker.host, mqtt_broker.port, **_credentials(mqtt_broker))
        assert left_by_test not in after and after[there_before] == b"another program's"
    finally:
        client.publish(there_before, b"", retain=True)
