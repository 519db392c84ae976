"""MQTT over TLS with a client certificate and a password per gate, and the broker ACL that
``protocol.topics.gate_acl`` renders, against a real Mosquitto started with that configuration.

The gate and central clients are built by their own code (``edge.link.client.build_client``,
``central.ingest.mqtt.build_client``) from their settings, so this also proves both sides take
the CA file, client certificate and password through settings. Without this test the ACL
stanzas could be wrong (a gate publishing as another) and nobody would notice until deployment.
Ordering, not waiting, proves an absence: a client's messages reach a subscriber in the order
it sent them, so when a later message has arrived an earlier denied one would have too.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from central.ingest.mqtt import build_client as build_central_client
from central.settings import MqttSettings as CentralMqttSettings
from edge.link.client import build_client as build_gate_client
from edge.settings import MqttSettings as EdgeMqttSettings
from protocol.topics import gate_commands, gate_events, gate_health
from tls_broker import CertificateAuthority, TlsBroker, tls_mosquitto

WAIT_S = 15.0
REQUIRE = __import__("os").environ.get("AUTOGATE_REQUIRE_SERVICES") == "1"


@pytest.fixture
def broker(tmp_path) -> Iterator[TlsBroker]:
    gates = [f"gate-tls-a-{uuid.uuid4().hex[:4]}", f"gate-tls-b-{uuid.uuid4().hex[:4]}"]
    try:
        with tls_mosquitto(tmp_path, gates) as started:
            yield started
    except FileNotFoundError as exc:
        if REQUIRE:
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@dataclass
class Session:
    """A connected client and what it received, in order."""

    client: paho.Client
    received: list[tuple[str, bytes]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, topic: str, payload: bytes) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: (topic, payload) in self.received, WAIT_S)

    def subscribe(self, *topics: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe([(t, 1) for t in topics])
        assert done.wait(WAIT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(WAIT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _gate_settings(broker: TlsBroker, user: str, *, cert_of: str | None = None, password: str | None = None,
                   ca_file=None) -> EdgeMqttSettings:
    creds, cert = broker.users[user], broker.users[cert_of or user]
    return EdgeMqttSettings(
        host=broker.host, port=broker.port, username=user, password=password or creds.password,
        tls={"enabled": True, "ca_file": ca_file or broker.ca.cert_file, "cert_file": cert.cert_file,
             "key_file": cert.key_file},
    )


def _connect(client: paho.Client, broker: TlsBroker) -> str:
    """'ok', or why the broker (or the TLS handshake) refused the client."""
    outcome: list[str] = []
    done = threading.Event()

    def on_connect(_c, _u, _flags, reason, _props) -> None:
        outcome.append("ok" if not reason.is_failure else f"refused: {reason}")
        done.set()

    def on_disconnect(_c, _u, _flags, reason, _props) -> None:
        outcome.append(f"disconnected: {reason}")
        done.set()

    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except (OSError, ssl.SSLError) as exc:  # the TLS handshake runs inside connect()
        return f"handshake: {type(exc).__name__}: {exc}"
    client.loop_start()
    if not done.wait(WAIT_S):
        outcome.append("no answer")
    if outcome[0] != "ok":
        client.loop_stop()
    return outcome[0]


def _gate(broker: TlsBroker, user: str, **kwargs) -> Session:
    client = build_gate_client(user, _gate_settings(broker, user, **kwargs), will_topic=gate_health(user),
                               will_payload=b"offline")
    session = Session(client)
    client.on_message = lambda _c, _u, m: _record(session, m.topic, m.payload)
    assert (result := _connect(client, broker)) == "ok", result
    return session


def _central(broker: TlsBroker) -> Session:
    creds = broker.users["central-ingest"]
    client = build_central_client(CentralMqttSettings(
        host=broker.host, port=broker.port, username=creds.user, password=creds.password,
        client_id=f"central-{uuid.uuid4().hex[:6]}", tls=True, ca_file=broker.ca.cert_file,
        cert_file=creds.cert_file, key_file=creds.key_file,
    ))
    session = Session(client)

    def on_message(c, _u, m) -> None:
        _record(session, m.topic, m.payload)
        c.ack(m.mid, m.qos)  # central acknowledges by hand (after its commit, in ingest)

    client.on_message = on_message
    assert (result := _connect(client, broker)) == "ok", result
    return session


def _record(session: Session, topic: str, payload: bytes) -> None:
    with session.cond:
        session.received.append((topic, bytes(payload)))
        session.cond.notify_all()


def test_gate_publishes_only_under_its_own_topics_and_central_reads_all(broker) -> None:
    a, b = list(broker.users)[:2]
    central = _central(broker)
    gate_a, gate_b = _gate(broker, a), _gate(broker, b)
    try:
        central.subscribe("autogate/v1/gates/+/events", "autogate/v1/gates/+/health")
        gate_a.publish(gate_events(a), b"a-own")
        gate_b.publish(gate_events(a), b"b-posing-as-a")  # the ACL must drop it
        gate_b.publish(gate_health(a), b"b-posing-as-a-health")
        gate_b.publish(gate_events(b), b"b-own")
        assert central.wait_for(gate_events(a), b"a-own")
        assert central.wait_for(gate_events(b), b"b-own")
        # b's own message came after its forgeries from the same connection: they would be here.
        assert (gate_events(a), b"b-posing-as-a") not in central.received
        assert (gate_health(a), b"b-posing-as-a-health") not in central.received
    finally:
        for session in (gate_a, gate_b, central):
            session.close()


def test_gate_reads_only_its_own_command_topic(broker) -> None:
    a, b = list(broker.users)[:2]
    central = _central(broker)
    gate_a, gate_b = _gate(broker, a), _gate(broker, b)
    try:
        gate_a.subscribe(gate_commands(a))
        gate_b.subscribe(gate_commands(a), gate_commands(b))  # b asks for a's commands too
        central.publish(gate_commands(a), b"for-a")
        central.publish(gate_commands(b), b"for-b")
        assert gate_a.wait_for(gate_commands(a), b"for-a")
        assert gate_b.wait_for(gate_commands(b), b"for-b")
        assert gate_b.received == [(gate_commands(b), b"for-b")]
        # and a gate cannot publish a command, even to itself
        gate_a.publish(gate_commands(a), b"self-issued")
        central.publish(gate_commands(a), b"for-a-2")
        assert gate_a.wait_for(gate_commands(a), b"for-a-2")
        assert (gate_commands(a), b"self-issued") not in gate_a.received
    finally:
        for session in (gate_a, gate_b, central):
            session.close()


def test_another_gates_credentials_cannot_log_in_as_it(broker) -> None:
    a, b = list(broker.users)[:2]
    # b's certificate and password with a's user name: the password file refuses it.
    client = build_gate_client(a, _gate_settings(broker, a, cert_of=b, password=broker.users[b].password),
                               will_topic=gate_health(a), will_payload=b"x")
    assert _connect(client, broker).startswith(("refused", "disconnected"))


def test_plain_tcp_wrong_ca_and_missing_client_certificate_are_refused(broker, tmp_path) -> None:
    a = next(iter(broker.users))
    creds = broker.users[a]

    plain = paho.Client(CallbackAPIVersion.VERSION2, client_id="plain")
    plain.username_pw_set(a, creds.password)
    assert _connect(plain, broker) != "ok"

    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other_ca = CertificateAuthority(other_dir, "impostor CA")
    wrong_ca = build_gate_client(a, _gate_settings(broker, a, ca_file=other_ca.cert_file),
                                 will_topic=gate_health(a), will_payload=b"x")
    assert _connect(wrong_ca, broker).startswith("handshake"), "a broker our CA did not sign was trusted"

    # the right CA but a client certificate from another CA: the broker refuses the handshake
    cert, key = other_ca.issue(a)
    settings = EdgeMqttSettings(host=broker.host, port=broker.port, username=a, password=creds.password,
                                tls={"enabled": True, "ca_file": broker.ca.cert_file, "cert_file": cert,
                                     "key_file": key})
    impostor = build_gate_client(a, settings, will_topic=gate_health(a), will_payload=b"x")
    assert _connect(impostor, broker) != "ok"


def test_a_web_workers_publisher_sends_commands_over_mutual_tls(broker) -> None:
    """gunicorn's web workers publish commands through their own client (central/publisher.py):
    it must present central's client certificate too (it set only the CA before, and a broker
    that asks for a certificate refused it)."""
    from central.publisher import BrokerPublisher

    a = next(iter(broker.users))
    gate_a = _gate(broker, a)
    gate_a.subscribe(gate_commands(a))
    creds = broker.users["central-ingest"]
    publisher = BrokerPublisher(CentralMqttSettings(
        host=broker.host, port=broker.port, username=creds.user, password=creds.password,
        tls=True, ca_file=broker.ca.cert_file, cert_file=creds.cert_file, key_file=creds.key_file,
    ))
    publisher.start()
    try:
        assert publisher.connected.wait(WAIT_S), "the web worker's publisher never connected"
        publisher.publish(gate_commands(a), b"from-a-web-worker")
        assert gate_a.wait_for(gate_commands(a), b"from-a-web-worker")
    finally:
        publisher.close()
        gate_a.close()
