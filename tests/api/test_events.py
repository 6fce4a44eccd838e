"""The app's event hub: each stream gets the events of its scope and filter (kinds,
categories, area), in order, from any thread; every event gets the next hub-wide id; a
stream resumed after an id gets what it missed then the live events, each once, or a reset
when the hub cannot know them; a full stream drops its oldest; a stream whose loop has
closed is forgotten."""

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


def test_a_full_stream_without_a_ring_drops_its_oldest_and_counts_them() -> None:
    async def run() -> tuple[list[int], int]:
        hub = EventHub(replay=0)
        stream = hub.subscribe(Scope.everything())
        stream.queue = asyncio.Queue(3)
        hub.publish_all([_event(TOWN_A, n) for n in range(5)])
        await asyncio.sleep(0)
        return await _drain(stream), stream.dropped

    assert asyncio.run(run()) == ([2, 3, 4], 2)


def test_a_stream_that_fell_behind_catches_up_from_the_ring() -> None:
    async def run(replay: int) -> tuple[list[int], int]:
        hub = EventHub(replay=replay)
        stream = hub.subscribe(Scope.of(TOWN_A))
        stream.queue = asyncio.Queue(3)
        hub.publish_all([_event(TOWN_A if n % 5 else TOWN_B, n) for n in range(12)])
        await asyncio.sleep(0)
        hub.publish(_event(TOWN_A, 12))  # while it is behind
        await asyncio.sleep(0)
        got = await _drain(stream)
        hub.publish(_event(TOWN_A, 13))  # caught up: live again
        return got + await _drain(stream), stream.dropped

    assert asyncio.run(run(100)) == ([1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13], 0)
    # a ring of 4 holds 9 to 12 only: the stream is told it lost some
    assert asyncio.run(run(4)) == ([1, 2, 3, 9, 11, 12, 13], 1)


def test_a_stream_whose_loop_has_closed_is_forgotten() -> None:
    hub = EventHub()

    async def subscribe() -> None:
        hub.subscribe(Scope.everything())

    asyncio.run(subscribe())  # the loop closes with the run
    assert hub.stream_count == 1
    hub.publish(_event(TOWN_A, 1))
    assert hub.stream_count == 0


def test_every_event_gets_the_next_hub_id_whichever_thread_publishes_it() -> None:
    async def run() -> tuple[EventHub, list[int]]:
        hub = EventHub()
        stream = hub.subscribe(Scope.everything())
        senders = [threading.Thread(target=hub.publish_all,
                                    args=([_event(TOWN_A, n) for n in range(50)],))
                   for _ in range(8)]  # fmt: skip
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        got = []
        while (stamped := await stream.next_stamped(0.2)) is not None:
            got.append(stamped[0])
        return hub, got

    hub, seqs = asyncio.run(run())
    assert seqs == list(range(1, 401))  # in order, none lost, none twice
    assert hub.last_id == f"{hub.boot}-400" and hub.event_id(7) == f"{hub.boot}-7"
    assert EventHub().boot != hub.boot


def _alert(code: str, n: int, category: str, lon: float | None = None,
           lat: float | None = None, kind: str = "alert") -> Event:  # fmt: skip
    data: dict[str, object] = {"n": n, "category": category}
    if lon is not None:
        data |= {"lon": lon, "lat": lat}
    return Event(kind, code, data)


def test_a_filter_keeps_the_kinds_categories_and_area_asked_for() -> None:
    box = (113.0, 23.0, 113.5, 23.5)
    events = [
        _alert(TOWN_A, 1, "waterlogging", 113.2, 23.2),
        _alert(TOWN_A, 2, "air_quality", 113.2, 23.2),  # another category
        _alert(TOWN_A, 3, "waterlogging", 114.0, 23.2),  # outside the box
        _alert(TOWN_A, 4, "waterlogging", kind="incident"),  # no location
        _event(TOWN_A, 5),  # an observation: no category, no location
        _alert(TOWN_B, 6, "waterlogging", 113.2, 23.2),  # another town
        _alert(TOWN_A, 7, "waterlogging", 113.5, 23.0, kind="incident"),  # on the edge
    ]
    wide = hub_module.EventFilter(categories=frozenset({"waterlogging"}), bbox=box)
    strict = hub_module.EventFilter(frozenset({"alert", "incident"}),
                                    frozenset({"waterlogging"}), box, strict_area=True)  # fmt: skip

    async def run() -> tuple[list[int], list[int], list[int]]:
        hub = EventHub()
        streams = [hub.subscribe(Scope.of(TOWN_A), filter=wide),
                   hub.subscribe(Scope.of(TOWN_A), filter=strict),
                   hub.subscribe(Scope.of(TOWN_A), frozenset({"incident"}))]  # fmt: skip
        hub.publish_all(events)
        await asyncio.sleep(0)
        return await _drain(streams[0]), await _drain(streams[1]), await _drain(streams[2])

    assert asyncio.run(run()) == ([1, 4, 5, 7], [1, 7], [4, 7])


def test_a_stream_resumed_after_its_last_id_gets_what_it_missed_then_live_once() -> None:
    async def run() -> tuple[list[int], list[tuple[int, int]], str | None]:
        hub = EventHub()
        first = hub.subscribe(Scope.of(TOWN_A), frozenset({"observation"}))
        hub.publish_all([_event(TOWN_A, 1), _event(TOWN_A, 2)])
        seen = [await first.next_stamped(1) for _ in range(2)]
        hub.unsubscribe(first)  # the connection broke
        last_seq = seen[-1][0] if seen[-1] else 0
        hub.publish_all([_event(TOWN_A, 3), _event(TOWN_B, 4), _event(TOWN_A, 5, "entity"),
                         _event(TOWN_A, 6)])  # fmt: skip
        again = hub.subscribe(
            Scope.of(TOWN_A), frozenset({"observation"}), last_event_id=hub.event_id(last_seq)
        )
        hub.publish(_event(TOWN_A, 7))
        await asyncio.sleep(0)
        again.offer((again.start_seq, _event(TOWN_A, 6)))  # a late copy of a missed event
        resumed = []
        while (stamped := await again.next_stamped(0.2)) is not None:
            resumed.append((stamped[0], stamped[1].data["n"]))
        return [s[1].data["n"] for s in seen if s], resumed, again.reset

    before, resumed, reset = asyncio.run(run())
    assert before == [1, 2] and reset is None
    assert resumed == [(3, 3), (6, 6), (7, 7)]  # what it missed, then live: each once, in order


def test_a_resume_the_hub_cannot_serve_is_a_reset() -> None:
    async def run() -> dict[str, tuple[str | None, list[int]]]:
        hub = EventHub(replay=5)
        hub.publish_all([_event(TOWN_A, n) for n in range(1, 11)])  # the ring: 6..10
        asked = {"oldest kept": hub.event_id(5), "too old": hub.event_id(4),
                 "another boot": "0badb007-9", "not yet": hub.event_id(11),
                 "not an id": "yesterday", "latest": hub.last_id}  # fmt: skip
        found = {}
        for case, last in asked.items():
            stream = hub.subscribe(Scope.everything(), last_event_id=last)
            found[case] = (stream.reset, await _drain(stream))
        return found

    found = asyncio.run(run())
    assert found["oldest kept"] == (None, [6, 7, 8, 9, 10])
    assert found["latest"] == (None, [])
    assert "older than the 5 events kept" in str(found["too old"][0])
    assert "restarted" in str(found["another boot"][0])
    assert "has not happened" in str(found["not yet"][0])
    assert "not an event id" in str(found["not an id"][0])
    for case in ("too old", "another boot", "not yet", "not an id"):
        assert found[case][1] == []  # only live events follow a reset


def test_events_are_wanted_for_the_ring_once_a_stream_has_been_opened() -> None:
    async def open_and_close(hub: EventHub) -> None:
        hub.unsubscribe(hub.subscribe(Scope.everything()))

    with_ring, without = EventHub(), EventHub(replay=0)
    assert not with_ring.has_takers and not without.has_takers  # none could resume
    for hub in (with_ring, without):
        asyncio.run(open_and_close(hub))
    assert with_ring.has_takers  # the stream may come back for what happens now
    assert not without.has_takers
