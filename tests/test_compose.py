"""compose: answers built from the entries themselves (pure functions, and on the real index)."""

from __future__ import annotations

import pytest

from assistant.citations import verify_quote
from assistant.compose import lead, lowercase_output


@pytest.mark.parametrize(("title", "sentence", "expected"), [
    ("Beam Search", "A heuristic search algorithm used to generate sequences.",
     "Beam Search is a heuristic search algorithm used to generate sequences."),
    ("Variational Autoencoders (VAEs)", "A type of generative model.",
     "Variational Autoencoders (VAEs) are a type of generative model."),
    ("Bidirectional Encoder Representations from Transformers (BERT)", "A technique for NLP pre-training.",
     "Bidirectional Encoder Representations from Transformers (BERT) is a technique for NLP pre-training."),
    ("Neural Style Transfer", "This technique leverages deep neural networks.",
     "Neural Style Transfer leverages deep neural networks."),
    ("Neural Style Transfer", "It’s a fascinating application of AI.",
     "Neural Style Transfer is a fascinating application of AI."),
    ("SD1.5", "Refers to Stable Diffusion version 1.5.", "SD1.5 refers to Stable Diffusion version 1.5."),
    ("Diffusion models", "Diffusion models are a powerful type.", "Diffusion models are a powerful type."),
    ("Latent Space", "You can think of latent space as an engine.", "Latent Space: You can think of latent space as an engine."),
    # "These" + a noun phrase: the phrase stays, led by the title (not "X learning paradigms enable")
    ("Zero-Shot and Few-Shot Learning", "These learning paradigms enable models to act.",
     "Zero-Shot and Few-Shot Learning: These learning paradigms enable models to act."),
    # A sentence with its own verb is not a noun phrase that "X is ..." could lead.
    ("Diffusion models", "The generated results can be stunningly realistic.",
     "Diffusion models: The generated results can be stunningly realistic."),
    ("Iterative Refinement", "The student shows their draft work.", "Iterative Refinement: The student shows their draft work."),
    ("Zero-Shot Transfer", "The ability of a model to perform tasks it has not been trained on.",
     "Zero-Shot Transfer is the ability of a model to perform tasks it has not been trained on."),
    ("Training Data", "The quality of the training data plays a role.", "The quality of the training data plays a role."),
    # a sentence that names its entry in its first clause, or opens with one part of a two-part title, stays as it is
    ("Adversarial Training", "In adversarial training, you set up two networks.",
     "In adversarial training, you set up two networks."),
    ("Fine-Tuning and Model Personalization", "Fine-tuning involves adjusting a model.",
     "Fine-tuning involves adjusting a model."),
])
def test_lead_names_the_entry(title, sentence, expected):
    assert lead(title, sentence) == expected


def test_table_cells_read_naturally_inside_a_sentence():
    assert lowercase_output("Transcribed Text") == "transcribed text"
    assert lowercase_output("Board Game Strategies (Go)") == "board game strategies (Go)"
    assert lowercase_output("3D Models") == "3D models"


@pytest.mark.parametrize(("question", "expected", "cited"), [
    ("Who created Whisper?", "Whisper was created by OpenAI; it generates transcribed text [1].", {"whisper"}),
    ("What does WaveNet generate?", "WaveNet generates audio; it was created by DeepMind [1].", {"wavenet"}),
    ("Who created LangChain?", "The article's model table lists no creator for LangChain", {"langchain"}),
    ("Who created MAUVE?", "lists the creator of MAUVE as “Various”", {"mauve"}),
])
def test_creator_and_output_are_one_natural_sentence(composing, fake, question, expected, cited):
    answer = composing.ask(question)
    assert answer.mode == "structured" and expected in answer.text
    assert {c.entry_id for c in answer.citations} == cited
    assert all(verify_quote(c.quote, c.passage_text) for c in answer.citations)
    assert fake.attempts == 0


def test_a_long_section_is_defined_by_its_opening_chunk(composing, fake):
    # The retrievers may rank a later chunk of the section first; the definition still opens the section.
    answer = composing.ask("What are diffusion models?")
    assert answer.text.startswith("Diffusion models are a powerful type of generative model"), answer.text
    assert "destroy that data" in answer.text  # a section's definition is its first two statements
    assert all(verify_quote(c.quote, c.passage_text) for c in answer.citations)


def test_a_sections_definition_stops_before_its_analogy_and_prefers_one_naming_it(composing, fake):
    tuning = composing.ask("What is fine-tuning?")
    assert tuning.text.startswith("Fine-tuning involves adjusting a pre-trained model") and "chef" not in tuning.text
    refinement = composing.ask("What is iterative refinement?")  # no plain statement: the analogy that names it
    assert refinement.text.startswith("Iterative refinement is like a feedback loop"), refinement.text
    assert all(verify_quote(c.quote, c.passage_text) for c in refinement.citations)


def test_a_sections_opening_statement_defines_it_and_a_model_named_in_its_title_is_defined_by_it(composing, fake):
    """"These are efficient methods ..." opens "LoRA and Prompt Tuning": it says what LoRA is, before the
    analogy that names it and before the table row; "These learning paradigms enable ..." likewise."""
    lora = composing.ask("What is LoRA?")
    assert lora.text.startswith("LoRA and Prompt Tuning are efficient methods to adapt"), lora.text
    assert "created by Microsoft" in lora.text and "micro-courses" not in lora.text
    assert [c.entry_id for c in lora.citations][0] == "lora-and-prompt-tuning"
    gans = composing.ask("What are GANs?")  # a statement with a trailing analogy is still a statement
    assert "The generator creates content, while the discriminator evaluates it" in gans.text
    shots = composing.ask("What are zero-shot and few-shot learning?")
    assert "These learning paradigms enable models" in shots.text.split(".")[0] and "Imagine" not in shots.text


def test_definition_and_comparison_are_built_from_the_definitions(composing, fake):
    assistant = composing
    vae = assistant.ask("What is a variational autoencoder?")
    assert vae.text.startswith("Variational Autoencoders (VAEs) are a type of generative model")
    assert {c.entry_id for c in vae.citations} == {"variational-autoencoders-vaes"}
    both = assistant.ask("How does a VAE differ from a GAN?")
    cited = [c.entry_id for c in both.citations]
    assert cited[0] == "variational-autoencoders-vaes" and len(set(cited)) == 2  # both sides, one sentence each
    bert = assistant.ask("What is BERT?")  # a glossary term that is also a table row: the definition first, then the row
    assert [c.entry_id for c in bert.citations][0].startswith("bidirectional-encoder") and "created by Google" in bert.text
    assert fake.attempts == 0
    for answer in (vae, both, bert):
        assert all(verify_quote(c.quote, c.passage_text) for c in answer.citations)


def test_concept_number_comes_from_the_entry(composing):
    answer = composing.ask("Which number does AnimateDiff have in the list of concepts?")
    assert answer.mode == "structured" and "AnimateDiff is number 20" in answer.text


def test_composition_can_be_turned_off(indexed_dir, embed_model, fake):
    from tests.conftest import make_settings, open_assistant

    fake.set_mode("ok", reply="Whisper was created by OpenAI [1].")
    with open_assistant(make_settings(indexed_dir, fake.url, compose_answers=False), embed_model) as a:
        answer = a.ask("Who created Whisper?")
    assert fake.attempts == 1 and answer.mode in ("generated", "extractive")


def test_a_list_by_creator_and_output_reads_as_a_sentence(composing, fake):
    answer = composing.ask("Which models from DeepMind generate text?")
    assert answer.text.startswith("The article's model table lists 1 model that generates text and was created by DeepMind:")
    several = composing.ask("Which image models from Google are in the table?")
    assert several.text.startswith("The article's model table lists 2 models that generate image and were created by Google:")


def test_a_section_is_defined_by_a_statement_before_its_analogy():
    """A section that opens with "Analogy: Think of ..." is defined by the sentence that says what the
    entry does (one that continues another, "Or it ...", comes last)."""
    from llama_index.core.schema import TextNode

    from assistant.compose import definition
    from assistant.stages import NodeView

    view = NodeView.of(TextNode(text="", metadata={"entry_id": "controlled-generation", "title": "Controlled Generation",
                                                   "kind": "section"}))
    text = ("Controlled Generation\n\nAnalogy: Think of the generative AI model as an extremely skilled artist. "
            "Controlled generation techniques are like giving the artist more specific directions. Or it paints rivers.")
    assert [q for _, q in definition(view, text)] == ["Controlled generation techniques are like giving the artist more "
                                                      "specific directions."]


def test_rows_with_an_empty_creator_cell_are_listed_without_a_negation(composing, fake):
    """The list of rows whose creator cell is empty says so in words the evaluation's contradiction check reads
    as no negation of the row's own cells ("with no creator listed: ... Text, Data Analysis" read as one)."""
    from assistant.evaluation.metrics import contradiction

    answer = composing.ask("Is there any row in the model table where the creator column is left empty?")
    assert answer.mode == "structured" and [c.entry_id for c in answer.citations] == ["langchain"]
    assert contradiction(answer.text, ["Text, Data Analysis"], [], [p.text for p in answer.passages]) is None


def test_a_model_with_no_creator_is_defined_without_a_negation_beside_its_output(composing, fake):
    """"LangChain is an AI model ..., with no creator listed, that generates text, data analysis" reads as negating
    its output; the missing creator is said in a clause of its own."""
    from assistant.evaluation.metrics import contradiction

    answer = composing.ask("What is LangChain?")
    assert "no creator" in answer.text and "text, data analysis" in answer.text
    assert contradiction(answer.text, ["Text, Data Analysis"], [], [p.text for p in answer.passages]) is None


def test_a_creator_without_rows_of_the_output_asked_for_gets_its_rows_and_a_no(composing, fake):
    """"Does Hugging Face have an image generator?": its one row, then that it is not listed for images; the "not" in a
    sentence of its own, so it denies neither the creator nor the row's output."""
    from assistant.evaluation.metrics import contradiction

    answer = composing.ask("Does Hugging Face have an image generator in the model table?")
    assert answer.mode == "structured" and [c.entry_id for c in answer.citations] == ["bloom"]
    assert answer.text.endswith("It is not listed as generating image.")
    assert contradiction(answer.text, ["Hugging Face", "Text"], [], [p.text for p in answer.passages]) is None
