"""DoorBoardGateHardware's link handling, frame by frame, on an in-memory port."""

from __future__ import annotations

import pytest

import firmware.protocol
from edge.hardware.base import DoorAction, DoorCommand, HardwareEventKind as K
from edge.hardware.doorboard import codec
from edge.hardware.doorboard.device import DoorBoardGateHardware
from edge.hardware.doorboard.errors import DoorBoardRefused, DoorBoardTimeout
from edge.hardware.doorboard.fake import CLOSED_STATUS, FakeSerialPort, ack_everything
from edge.hardware.errors import DoorBoardError, InterlockViolation
from edge.hardware.recorder import EventRecorder

W = codec.wire


def test_edge_and_firmware_share_one_codec():
    """The frame format must not drift between the board and the edge."""
    assert codec.wire is firmware.protocol
    assert codec.encode is firmware.protocol.encode and codec.Decoder is firmware.protocol.Decoder


def make(port, **kwargs):
    kwargs.setdefault("timeout_s", 0.1)
    kwargs.setdefault("heartbeat_s", 60)
    return DoorBoardGateHardware(port=port, **kwargs)


def test_lost_replies_are_retransmitted_with_the_same_seq():
    dropped = []

    def flaky(seq, cmd, payload):
        if cmd == W.OPEN and not dropped:
            dropped.append(seq)
            return None
        return ack_everything(seq, cmd, payload)

    port = FakeSerialPort(flaky)
    hw = make(port)
    try:
        hw.execute(DoorCommand("entry", DoorAction.OPEN))
        opens = [f for f in port.frames if f[1] == W.OPEN]
        assert len(opens) >= 2  # more only if this machine is slower than the retry timeout
        assert {f[0] for f in opens} == {dropped[0]}
    finally:
        hw.close()


def test_a_crc_nak_makes_the_driver_resend():
    naked = []

    def board(seq, cmd, payload):
        if cmd == W.INDICATE and not naked:
            naked.append(seq)
            return codec.encode(seq, W.NAK, bytes([W.NAK_CRC]))
        return ack_everything(seq, cmd, payload)

    port = FakeSerialPort(board)
    hw = make(port)
    try:
        hw.indicate("proceed")  # type: ignore[arg-type]
        indicates = [f for f in port.frames if f[1] == W.INDICATE]
        assert len(indicates) >= 2 and {f[0] for f in indicates} == {naked[0]}
    finally:
        hw.close()


def test_silence_is_a_timeout_and_a_link_fault():
    state = {"alive": True}
    port = FakeSerialPort(lambda *f: ack_everything(*f) if state["alive"] else None)
    hw = make(port, retries=2)
    rec = EventRecorder(hw)
    try:
        state["alive"] = False
        with pytest.raises(DoorBoardTimeout, match="no reply to close exit .* after 3 tries") as info:
            hw.execute(DoorCommand("exit", DoorAction.CLOSE))
        assert isinstance(info.value, TimeoutError) and isinstance(info.value, DoorBoardError)
        rec.wait_for(K.FAULT)
        state["alive"] = True
        hw.execute(DoorCommand("exit", DoorAction.CLOSE))
        rec.wait_for(K.FAULT_CLEARED)
    finally:
        hw.close()


@pytest.mark.parametrize(
    ("reason", "error"),
    [(W.NAK_INTERLOCK, InterlockViolation), (W.NAK_EMERGENCY, InterlockViolation), (W.NAK_BAD_PAYLOAD, DoorBoardRefused)],
)
def test_naks_map_to_errors(reason, error):
    port = FakeSerialPort(
        lambda seq, cmd, p: codec.encode(seq, W.NAK, bytes([reason])) if cmd == W.OPEN else ack_everything(seq, cmd, p)
    )
    hw = make(port)
    try:
        with pytest.raises(error, match=W.NAK_REASONS[reason]):
            hw.execute(DoorCommand("entry", DoorAction.OPEN))
    finally:
        hw.close()


def test_events_are_acked_deduplicated_and_translated():
    port = FakeSerialPort()
    hw = make(port)
    rec = EventRecorder(hw)
    try:
        opened = codec.encode(77, W.EVENT, bytes([W.EV_DOOR_OPENED, W.DOOR_EXIT]))
        port.feed(opened)
        port.feed(opened)  # the board missed our ACK and repeated
        port.feed(codec.encode(78, W.EVENT, bytes([W.EV_DOOR_FAULT, W.DOOR_EXIT]) + b"stalled"))
        fault = rec.wait_for(K.DOOR_FAULT, "exit")
        assert fault.detail == "exit door: stalled"
        rec.wait_for(K.FAULT)
        assert rec.kinds().count((K.DOOR_OPENED, "exit")) == 1
        acks = [f[0] for f in port.frames if f[1] == W.ACK]
        assert acks == [77, 77, 78]
        assert hw.door_positions["exit"] == "unknown"
    finally:
        hw.close()


def test_a_corrupted_event_is_naked_so_the_board_resends():
    port = FakeSerialPort()
    hw = make(port)
    try:
        frame = bytearray(codec.encode(9, W.EVENT, bytes([W.EV_EMERGENCY, W.NO_DOOR])))
        frame[5] ^= 0x40
        port.feed(bytes(frame))
        port.wait_for_frame(lambda f: f[1] == W.NAK and f[2] == bytes([W.NAK_CRC]))
        assert hw.crc_errors == 1
    finally:
        hw.close()


def test_status_replies_set_positions_and_emergency():
    port = FakeSerialPort(
        lambda seq, cmd, p: codec.encode(seq, W.ACK, bytes([W.POS_OPEN, W.POS_LOCKED, W.FLAG_EMERGENCY]))
    )
    hw = make(port)
    try:
        assert hw.door_positions == {"entry": "open", "exit": "locked"}
        assert hw.emergency
    finally:
        hw.close()


def test_heartbeat_pings_the_board():
    port = FakeSerialPort()
    hw = make(port, heartbeat_s=0.01)
    try:
        port.wait_for_frame(lambda f: f[1] == W.PING)
    finally:
        hw.close()
    assert not any(t.is_alive() for t in hw._threads)  # close stops every thread


def test_close_is_idempotent_and_refuses_later_commands():
    port = FakeSerialPort()
    hw = make(port)
    hw.close()
    hw.close()
    with pytest.raises(DoorBoardError, match="closed"):
        hw.execute(DoorCommand("entry", DoorAction.OPEN))


def test_open_maps_a_missing_port_to_door_board_error():
    with pytest.raises(DoorBoardError, match="cannot open"):
        DoorBoardGateHardware.open("/dev/does-not-exist-autogate")


def test_status_payload_is_validated():
    assert codec.parse_status(CLOSED_STATUS).entry == "closed"
    with pytest.raises(ValueError):
        codec.parse_status(b"\x01")


def test_a_recorded_board_session_becomes_clean_events():
    """Frames recorded from the firmware (fixtures/make_doorboard_session.py) while a traveller entered."""
    import pathlib

    hex_lines = (pathlib.Path(__file__).parent / "fixtures" / "doorboard_session.hex").read_text().split()
    port = FakeSerialPort()
    hw = make(port)
    rec = EventRecorder(hw)
    try:
        port.feed(b"".join(bytes.fromhex(line) for line in hex_lines))
        rec.wait_for(K.DOOR_CLOSED, "entry")
        assert rec.kinds() == [(K.DOOR_OPENED, "entry"), (K.PERSON_ENTERED, "entry"), (K.DOOR_CLOSED, "entry")]
        assert hw.people_inside == 1
        acked = {f[0] for f in port.frames if f[1] == W.ACK}
        assert acked == {bytes.fromhex(line)[2] for line in hex_lines}  # every event acknowledged
    finally:
        hw.close()
