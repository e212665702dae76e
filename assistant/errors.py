"""One error hierarchy. Every message says what happened and what to do.

Entry points (CLI, UI, evals) translate these into exit codes or UI messages;
the library never prints tracebacks to people.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: a problem a person can act on. ``str(e)`` is safe to show."""


class ConfigError(AssistantError):
    """A setting is missing or invalid."""


class InputError(AssistantError):
    """The question or a file given to the assistant cannot be used."""


class IndexMissingError(AssistantError):
    """The search index is empty or was removed."""


class IndexMismatchError(AssistantError):
    """The index was built with another embedding model or Chroma version."""


class StoreError(AssistantError):
    """The vector store cannot be opened, read or written."""


class LLMError(AssistantError):
    """The language model endpoint failed (down, timeout, bad key, bad reply)."""


class LLMUnavailableError(LLMError):
    """Nothing answers at the configured LLM URL."""


class RateLimitedError(AssistantError):
    """Too many requests from one client."""
