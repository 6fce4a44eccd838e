"""MQTT clients for the tests: a device connecting with its API key, waiting helpers."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

WAIT = 15.0


class Device:
    """A connected MQTT client (user name and password given), with its received messages."""

    def __init__(
        self,
        port: int,
        user: str,
        password: str,
        *,
        transport: Literal["tcp", "websockets"] = "tcp",
    ) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, transport=transport)
        self.client.username_pw_set(user, password)
        self.messages: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.connected = threading.Event()
        self.answer: ReasonCode | None = None
        self.granted: list[ReasonCode] = []
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, _: Any, __: Any, ___: Any, reason: ReasonCode, ____: Any) -> None:
        self.answer = reason
        if reason.is_failure:
            self.client.disconnect()
        else:
            self.connected.set()

    def _on_message(self, _: Any, __: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put((message.topic, json.loads(message.payload)))

    def _on_subscribe(
        self, _: Any, __: Any, ___: Any, reasons: list[ReasonCode], ____: Any
    ) -> None:
        self.granted = reasons
        self._subscribed.set()

    def wait_answer(self, timeout: float = WAIT) -> ReasonCode:
        """The broker's answer to CONNECT."""
        deadline = time.monotonic() + timeout
        while self.answer is None:
            assert time.monotonic() < deadline, "no answer to CONNECT"
            time.sleep(0.02)
        return self.answer

    def subscribe(self, topic: str, qos: int = 1) -> list[ReasonCode]:
        """Subscribe and wait for the broker's grant."""
        assert self.connected.wait(WAIT)
        self._subscribed.clear()
        self.client.subscribe(topic, qos)
        assert self._subscribed.wait(WAIT)
        return self.granted

    def publish(self, topic: str, body: Any, qos: int = 1) -> None:
        """Publish JSON and wait until the broker has it (PUBACK for QoS 1)."""
        assert self.connected.wait(WAIT)
        info = self.client.publish(topic, json.dumps(body), qos)
        info.wait_for_publish(WAIT)

    def next_message(self, timeout: float = WAIT) -> tuple[str, Any]:
        """The next message received."""
        return self.messages.get(timeout=timeout)

    def messages_until(
        self, last: Callable[[Any], bool], timeout: float = WAIT
    ) -> list[tuple[str, Any]]:
        """The messages received up to the first whose body satisfies ``last``, included."""
        received = [self.next_message(timeout)]
        while not last(received[-1][1]):
            received.append(self.next_message(timeout))
        return received

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def eventually(check: Callable[[], Any], timeout: float = WAIT) -> Any:
    """The first truthy value of ``check()``, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{check.__name__} stayed false for {timeout} s"
        time.sleep(0.05)
