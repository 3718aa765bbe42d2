"""The first queue on screen, fast: a remembered sign-in and one queue fetch through Qt's own
network stack, before the asyncio thread and the hub client (aiohttp) are even imported.

It runs only for a clinic hub with a remembered sign-in. Once the queue has painted, the
provider controller adopts the session and opens the live socket, whose snapshot then replaces
this first answer. On any failure nothing is lost: the controller starts the usual way with the
same remembered token and reports what went wrong.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QUrl, Signal
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest

TIMEOUT_MS = 10_000


class QuickStart(QObject):
    """POST /api/auth/refresh, then GET /api/queue.

    Signals:
        ready(object, object): the hub's sign-in answer (token, expiry, provider, next refresh
            token) and its queue answer (``{"entries": [...]}``), or None for the queue when
            only that failed (the session is good: its rotated refresh token must be kept).
        failed(str): the sign-in did not work (the caller falls back to the usual start, with
            the same remembered token).
    """

    ready = Signal(object, object)
    failed = Signal(str)

    def __init__(self, hub_url: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._base = hub_url.rstrip("/")
        self._network = QNetworkAccessManager(self)
        self._network.setTransferTimeout(TIMEOUT_MS)

    def start(self, refresh_token: str) -> None:
        body = QByteArray(json.dumps({"refresh_token": refresh_token}).encode())
        reply = self._network.post(self._request("/api/auth/refresh"), body)
        reply.finished.connect(lambda: self._on_refreshed(reply))

    def _request(self, path: str, token: str | None = None) -> QNetworkRequest:
        request = QNetworkRequest(QUrl(self._base + path))
        request.setHeader(QNetworkRequest.KnownHeaders.ContentTypeHeader, "application/json")
        if token:
            request.setRawHeader(b"Authorization", f"Bearer {token}".encode())
        return request

    @staticmethod
    def _answer(reply: QNetworkReply) -> dict[str, Any] | str:
        """The JSON object of a 200 answer, or what went wrong."""
        reply.deleteLater()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        if reply.error() is not QNetworkReply.NetworkError.NoError and not status:
            return reply.errorString()
        if status != 200:
            return f"HTTP {status}"
        try:
            body = json.loads(bytes(reply.readAll().data()))
        except ValueError:
            return "The hub's answer was not JSON."
        return body if isinstance(body, dict) else "The hub's answer was not an object."

    def _on_refreshed(self, reply: QNetworkReply) -> None:
        session = self._answer(reply)
        if isinstance(session, str):
            self.failed.emit(session)
            return
        token = session.get("token")
        if not isinstance(token, str):
            self.failed.emit("The hub's sign-in answer had no token.")
            return
        queue = self._network.get(self._request("/api/queue", token))
        queue.finished.connect(lambda: self._on_queue(session, queue))

    def _on_queue(self, session: dict[str, Any], reply: QNetworkReply) -> None:
        body = self._answer(reply)
        self.ready.emit(session, body if isinstance(body, dict) else None)
