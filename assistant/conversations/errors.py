"""The conversation store's errors, in the project's one hierarchy (``AssistantError``).

The UI and HTTP handlers catch :class:`ConversationStoreError` to keep chatting without saving
(and show its message as a warning), and :class:`ConversationNotFoundError` to answer "not found".
"""

from __future__ import annotations

from assistant.errors import AssistantError


class ConversationStoreError(AssistantError):
    """The conversation database cannot be opened, read or written (locked, read-only, unreachable,
    damaged, or from a newer version). Chats go on; they are not saved until it is fixed."""


class ConversationStoreCorruptError(ConversationStoreError):
    """The database file is damaged or is not the assistant's; it is left exactly as it is."""


class ConversationNotFoundError(AssistantError):
    """No such chat or answer for this owner. Another owner's chat is reported exactly like a missing one."""
