"""The OpenAPI document covers every JSON endpoint, and fuzzing it never breaks the hub."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.memory_keyring import MemoryKeyring
from workstation.core.site import SiteConfig
from workstation.hub import openapi
from workstation.hub.server import create_app, start_hub
from workstation.resource_files import load_resources
from workstation.storage.database import open_store

schema = schemathesis.openapi.from_dict(openapi.document())


def test_every_api_route_is_documented(sqlite_store, site, resources):
    app = create_app(sqlite_store, site, resources)
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    documented = {
        (method, path) for path, ops in openapi.document()["paths"].items() for method in ops
    }
    assert served - {("get", "/api/openapi.json")} == documented


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A hub on a real port, in its own thread, as a clinic would run it."""
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    store = open_store(f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'hub.db'}")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    hub = asyncio.run_coroutine_threadsafe(
        start_hub(store, SiteConfig(), load_resources()), loop).result(10)
    yield hub.url
    asyncio.run_coroutine_threadsafe(hub.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    store.close()
    keyring.set_keyring(previous)


@schema.parametrize()
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_fuzzed_requests_get_answers_people_can_read(case, live_hub):
    response = case.call(base_url=live_hub)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
