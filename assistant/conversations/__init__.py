"""Stored chats and feedback: SQLAlchemy 2 over a SQLite file in DATA_DIR, or PostgreSQL.

``ConversationStore`` (store.py) is the repository the UI and HTTP handlers call, through
``StoreAccess`` (access.py: opened on first use, again after a failure); records.py holds
what it returns; models.py the tables; migrations.py the versioned schema; feedback.py turns
thumbs-down answers into candidate gold lines and prints feedback counts. See docs/conversations.md.
"""

from assistant.conversations.access import StoreAccess
from assistant.conversations.errors import (
    ConversationNotFoundError,
    ConversationStoreCorruptError,
    ConversationStoreError,
)
from assistant.conversations.records import REASONS, VOTES, Conversation, Feedback, Limits, Message
from assistant.conversations.store import ConversationStore

__all__ = ["REASONS", "VOTES", "Conversation", "ConversationNotFoundError", "ConversationStore",
           "ConversationStoreCorruptError", "ConversationStoreError", "Feedback", "Limits", "Message", "StoreAccess"]
