"""Does a question about model-table rows ask only for what a row holds (its creator, what it generates),
or for something the table does not say?

A model row answers two things. Rules in :mod:`assistant.intent` and :mod:`assistant.gate` recognise the
usual wordings ("Who made X?", "What does X generate?") and refuse what asks for more ("How many
parameters does X have?"); a user's own wording of a row question ("If I grouped the rows by the
organisation that built them, where would X end up?", "and the table says it produces what, exactly?")
falls between them and was refused. This reads the question's wording as a whole instead: a logistic
regression on the sentence embedding of the question with the models' names masked ("... where would X
end up?"), so it learns how people ask for a row's fields, not which rows they ask about.

It is trained on the dev split only (``python -m assistant.evaluation.asks``): answerable questions whose
evidence is model rows are "fields", unanswerable questions naming only model rows are "more". The
threshold is set there by cross-validation, as the lowest that lets through no more than 1 % of the
"more" questions; :class:`FieldAsks` only ever turns a refusal into an answer from the row, never the
reverse, so a wrong "fields" costs an answer that gives the row where a refusal was due.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.text import normalize

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.retrieval import NameIndex

WEIGHTS_PATH = Path(__file__).with_name("field_asks.json")
MASK = "X"


def masked(query: str, names: NameIndex) -> str:
    """The question with every entry name it uses replaced by ``X`` ("Who built Whisper AI?" -> "who built X?"),
    longest names first, in the normalised text the names are found in."""
    text = normalize(query)
    for name in sorted(set(names.matches(query)), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(normalize(name))}(?![\w-])", MASK, text)
    return text


@dataclass(frozen=True)
class FieldAsks:
    """The trained classifier: weights over the embedding, a bias and the decision threshold."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float
    embed_model: BaseEmbedding

    @classmethod
    def load(cls, embed_model: BaseEmbedding, model_name: str, path: Path = WEIGHTS_PATH) -> FieldAsks | None:
        """The classifier saved by training, or None when there is none or it was trained on another embedding model
        than `model_name` (the rules alone then decide)."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved["embed_model"] != model_name:
                return None
            return cls(tuple(float(w) for w in saved["coef"]), float(saved["intercept"]), float(saved["threshold"]),
                       embed_model)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def probability(self, query: str, names: NameIndex) -> float:
        """How likely the question asks only for its model rows' fields (0..1)."""
        vector = self.embed_model.get_query_embedding(masked(query, names))
        if len(vector) != len(self.coef):
            return 0.0  # another embedding model than the one trained with: no opinion
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        z = self.intercept + sum(w * v / norm for w, v in zip(self.coef, vector, strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def asks_fields(self, query: str, names: NameIndex) -> bool:
        return self.probability(query, names) >= self.threshold
