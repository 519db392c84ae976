import pytest

from protocol import topics


def test_topic_builders_and_parser_agree() -> None:
    for channel in topics.GATE_CHANNELS:
        topic = topics.gate_topic("gate-01", channel)
        assert topic == f"autogate/v1/gates/gate-01/{channel}"
        parsed = topics.parse_gate_topic(topic)
        assert (parsed.gate_id, parsed.channel) == ("gate-01", channel)


@pytest.mark.parametrize("gate_id", ["", "a/b", "+", "#"])
def test_gate_ids_that_would_break_topic_filters_are_refused(gate_id: str) -> None:
    with pytest.raises(ValueError):
        topics.gate_events(gate_id)


@pytest.mark.parametrize(
    "topic", ["autogate/v1/gates/g1/other", "autogate/v2/gates/g1/events", "x/y", "autogate/v1/gates/g1"]
)
def test_parse_refuses_foreign_topics(topic: str) -> None:
    with pytest.raises(ValueError):
        topics.parse_gate_topic(topic)


def test_acl_lets_a_gate_write_only_under_its_own_topics() -> None:
    acl = topics.gate_acl("gate-07")
    writes = [line.split()[-1] for line in acl.splitlines() if line.startswith("topic write")]
    assert writes and all(t.startswith("autogate/v1/gates/gate-07/") for t in writes)
    assert "topic read autogate/v1/gates/gate-07/commands" in acl
