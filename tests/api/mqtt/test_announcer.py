"""The announcer's own MQTT packets (their delivery through a real broker is what the
conformance tests' subscribers receive)."""

from __future__ import annotations

import pytest

from api.mqtt.announcer import connect_packet, publish_packet, remaining_length


@pytest.mark.parametrize(
    ("size", "encoded"),
    [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"),
     (16_384, b"\x80\x80\x01"), (2_097_152, b"\x80\x80\x80\x01")],
)  # fmt: skip
def test_remaining_lengths_are_encoded_as_the_standard_shows(size: int, encoded: bytes) -> None:
    assert remaining_length(size) == encoded


def test_a_publish_packet_is_qos_0_with_its_topic_and_payload() -> None:
    packet = publish_packet("v1.1/Observations", b'{"result":1}')
    assert packet[0] == 0x30  # PUBLISH, QoS 0, not retained
    assert packet[1] == 2 + len("v1.1/Observations") + len(b'{"result":1}')
    assert packet[2:4] == len("v1.1/Observations").to_bytes(2, "big")
    assert packet.endswith(b'v1.1/Observations{"result":1}')


def test_a_connect_packet_names_the_account_and_asks_no_keep_alive() -> None:
    packet = connect_packet("srv-announce", "server", "secret")
    assert packet[0] == 0x10 and packet[2:9] == b"\x00\x04MQTT\x04"
    assert packet[9] == 0b1100_0010  # user name, password, clean session
    assert packet[10:12] == b"\x00\x00"
    assert packet.endswith(b"\x00\x06server\x00\x06secret")
