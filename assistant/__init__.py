"""A retrieval-augmented assistant for "Generative AI – All you need to know", with verified citations."""

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.types import Answer, Citation, Health, Passage, Timings, Trace

__all__ = ["Answer", "Assistant", "AssistantError", "Citation", "Health", "Passage", "Settings", "Timings", "Trace"]


def __getattr__(name: str):  # lazy: `import assistant` stays light (no torch, no chromadb)
    if name == "Assistant":
        from assistant.api import Assistant

        return Assistant
    raise AttributeError(name)
