"""The app's event hub: each stream gets the events of its scope and kinds, in order, from
any thread; a full stream drops its oldest; a stream whose loop has closed is forgotten."""

from __future__ import annotations

import asyncio
import threading

from api import events as hub_module
from api.events import Event, EventHub
from cim.scope import Scope

TOWN_A, TOWN_B = "440106001000", "440106002000"


def _event(code: str, n: int, kind: str = "observation") -> Event:
    return Event(kind, code, {"n": n})


async def _drain(subscription: hub_module.Subscription) -> list[int]:
    got = []
    while (event := await subscription.next_event(0.2)) is not None:
        got.append(event.data["n"])
    return got


def test_streams_get_their_scopes_events_in_order_from_another_thread() -> None:
    async def run() -> tuple[list[int], list[int], list[int], list[Event]]:
        hub = EventHub()
        heard: list[Event] = []
        hub.add_listener(heard.append)
        town = hub.subscribe(Scope.of(TOWN_A))
        county = hub.subscribe(Scope.of("440106000000"), frozenset({"observation"}))
        entities = hub.subscribe(Scope.everything(), frozenset({"entity"}))
        batch = [_event(TOWN_A, 1), _event(TOWN_B, 2), _event(TOWN_A, 3, "entity")]
        sender = threading.Thread(target=hub.publish_all, args=(batch,))
        sender.start()
        sender.join()
        hub.publish(_event(TOWN_A, 4))
        return await _drain(town), await _drain(county), await _drain(entities), heard

    town, county, entities, heard = asyncio.run(run())
    assert town == [1, 3, 4]
    assert county == [1, 2, 4]
    assert entities == [3]
    assert [event.data["n"] for event in heard] == [1, 2, 3, 4]


def test_a_full_stream_drops_its_oldest_and_counts_them() -> None:
    async def run() -> tuple[list[int], int]:
        hub = EventHub()
        stream = hub.subscribe(Scope.everything())
        stream.queue = asyncio.Queue(3)
        hub.publish_all([_event(TOWN_A, n) for n in range(5)])
        await asyncio.sleep(0)
        return await _drain(stream), stream.dropped

    assert asyncio.run(run()) == ([2, 3, 4], 2)


def test_a_stream_whose_loop_has_closed_is_forgotten() -> None:
    hub = EventHub()

    async def subscribe() -> None:
        hub.subscribe(Scope.everything())

    asyncio.run(subscribe())  # the loop closes with the run
    assert hub.stream_count == 1
    hub.publish(_event(TOWN_A, 1))
    assert hub.stream_count == 0
