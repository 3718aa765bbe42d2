"""The workstation keeps a visit's chat on the hub in order; a line the hub refuses for what it
holds (a patient's page may send anything) is dropped and holds back no other line."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import cast

import pytest

from workstation.client.hub_answers import HubError
from workstation.client.hub_client import HubClient
from workstation.rtc.call import ChatMessage
from workstation.rtc.visit_call import VisitCall

pytestmark = pytest.mark.asyncio


class Hub:
    """Keeps what it is given; refuses NUL (422) and, while ``away``, answers nothing."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, datetime]] = []
        self.away = False

    async def save_chat(self, visit_id: str, line_id: str, sender: str, text: str,
                        at: datetime) -> None:
        if self.away:
            raise HubError(0, "unreachable", "The hub could not be reached.")
        if "\x00" in text:
            raise HubError(422, "invalid", "Some answers need attention.")
        self.kept.append((line_id, at))


async def test_a_refused_line_is_dropped_and_a_line_of_no_time_is_kept_at_now():
    hub = Hub()
    call = VisitCall(cast(HubClient, hub), "v-1")
    now = time.time()

    call._chat_received(ChatMessage("1", "patient", "bad\x00line", now))
    call._chat_received(ChatMessage("2", "patient", "from the year 3 billion", 1e20))
    call._chat_received(ChatMessage("3", "patient", "my throat hurts", now))
    await call.flush_chat()

    assert [line_id for line_id, _ in hub.kept] == ["2", "3"]
    assert abs(hub.kept[0][1].timestamp() - time.time()) < 60  # kept at now, not refused
    assert hub.kept[1][1] == datetime.fromtimestamp(now, UTC)
    assert call.unsaved_chat == []


async def test_lines_wait_while_the_hub_is_away_and_go_in_order_after():
    hub = Hub()
    call = VisitCall(cast(HubClient, hub), "v-1")
    hub.away = True
    call._chat_received(ChatMessage("1", "patient", "hello", time.time()))
    await call.flush_chat()
    assert [m.id for m in call.unsaved_chat] == ["1"]

    hub.away = False
    call._chat_received(ChatMessage("2", "patient", "are you there?", time.time()))
    await call.flush_chat()

    assert [line_id for line_id, _ in hub.kept] == ["1", "2"]
    assert call.unsaved_chat == []
