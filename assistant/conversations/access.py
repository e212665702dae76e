"""The conversation store as the web UI and the HTTP API reach it: opened on first use, and opened
again after a failure, so a locked, unwritable, unreachable or damaged database never stops the
chat. Callers keep answering and show the :class:`ConversationStoreError` as a warning."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.conversations.errors import ConversationStoreError
from assistant.conversations.store import ConversationStore
from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.config import Settings

RETRY_SECONDS = 5.0  # after a failed open, callers get the same error until this has passed (no retry storm)


class StoreAccess:
    """One ConversationStore per process, shared by every session and request (thread-safe)."""

    def __init__(self, settings: Settings | None = None, store: ConversationStore | None = None,
                 retry_seconds: float = RETRY_SECONDS, clock: Callable[[], float] = time.monotonic):
        if settings is None and store is None:
            raise ValueError("StoreAccess needs settings or an opened store")
        self.settings, self.retry_seconds, self.clock = settings, retry_seconds, clock
        self._store = store
        self._error: ConversationStoreError | None = None
        self._failed_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> ConversationStore:
        """The opened store; raises ConversationStoreError (a clear message) while it cannot be opened."""
        with self._lock:
            if self._store is not None:
                return self._store
            if self._error is not None and self.clock() - self._failed_at < self.retry_seconds:
                raise self._error
            assert self.settings is not None
            try:
                self._store = ConversationStore.from_settings(self.settings)
            except ConversationStoreError as exc:
                self._fail(exc)
                raise
            except ConfigError as exc:  # a bad DATABASE_URL: serve refuses it at start; here it is a warning
                self._fail(ConversationStoreError(str(exc)))
                raise self._error from None  # type: ignore[misc]
            self._error = None
            return self._store

    def _fail(self, error: ConversationStoreError) -> None:
        self._error, self._failed_at = error, self.clock()

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None
