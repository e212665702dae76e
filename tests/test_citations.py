"""Citation verification as pure functions (no LLM), contradictions included."""

import pytest

from assistant.citations import (
    find_markers,
    split_sentences,
    strip_markers,
    verify_answer,
    verify_quote,
)
from assistant.types import Passage


def passage(entry_id: str, text: str) -> Passage:
    return Passage(entry_id=entry_id, title=entry_id, kind="glossary", text=text, score=1.0, source="knowledge/x.yaml")


VAE = passage("vae", "Variational Autoencoders (VAEs): A type of generative model that learns to encode input data into a "
                     "compressed, latent representation and then decode it back to the original data. VAEs are particularly "
                     "known for their use in generating new data samples similar to the training data.")
WHISPER = passage("whisper", "Whisper — creator: OpenAI — generates: Transcribed Text")


def test_markers_found_and_stripped():
    assert find_markers("a [2] b [1][2].") == [2, 1, 2]
    assert strip_markers("VAEs encode data [1].") == "VAEs encode data."


def test_verify_quote_normalises_whitespace_quotes_and_case():
    text = "the model’s  parameters during\ntraining"
    assert verify_quote("The model's parameters during training", text)
    assert not verify_quote("the model's weights", text)
    assert not verify_quote("", text)


def test_supported_sentence_keeps_citation_with_verbatim_quote():
    result = verify_answer("A VAE learns to encode input data into a compressed latent representation [1].", [VAE, WHISPER])
    assert result.supported == 1 and not result.unsupported
    [citation] = result.citations
    assert citation.number == 1 and citation.entry_id == "vae"
    assert verify_quote(citation.quote, VAE.text)
    assert result.text.endswith("[1]")


def test_marker_to_missing_passage_is_dropped_and_support_found_elsewhere():
    result = verify_answer("Whisper was created by OpenAI [7].", [VAE, WHISPER])
    assert result.dropped_markers == [7]
    assert [c.number for c in result.citations] == [2]
    assert "[7]" not in result.text


def test_wrong_citation_is_redirected_to_the_supporting_passage():
    result = verify_answer("Whisper generates transcribed text from OpenAI [1].", [VAE, WHISPER])
    assert [c.entry_id for c in result.citations] == ["whisper"]


def test_unsupported_sentences_are_removed_not_presented():
    answer = "VAEs encode input data into a compressed latent representation [1]. VAEs were invented in 1850 by Napoleon [1]."
    result = verify_answer(answer, [VAE])
    assert result.supported == 1
    assert result.unsupported == ["VAEs were invented in 1850 by Napoleon."]
    assert "Napoleon" not in result.text


def test_no_support_at_all_gives_empty_result():
    result = verify_answer("The weather in Paris is sunny today [1].", [VAE, WHISPER])
    assert result.supported == 0 and result.citations == [] and result.text == ""


def test_system_prompt_echo_is_not_supported():
    echo = "You answer questions about generative AI using only the numbered passages you are given."
    assert verify_answer(echo, [VAE, WHISPER]).supported == 0


def test_split_sentences_handles_lists_and_abbreviations():
    assert split_sentences("First one. Second one!\n- bullet item\n- another") == [
        "First one.", "Second one!", "bullet item", "another"]
    assert split_sentences("Use e.g. text or images, and more.") == ["Use e.g. text or images, and more."]


# --- edge cases (added with the answer-path tests) ----------------------------------------------
ENCODE = "VAEs encode input data into a compressed latent representation"


def test_marker_zero_and_out_of_range_are_dropped_but_support_is_found():
    result = verify_answer(f"{ENCODE} [0][3].", [VAE, WHISPER], query="What is a VAE?")
    assert result.dropped_markers == [0, 3]
    assert [c.number for c in result.citations] == [1]
    assert all(1 <= n <= 2 for n in find_markers(result.text))


def test_several_markers_keep_the_supporting_one():
    result = verify_answer(f"{ENCODE} [2][1].", [VAE, WHISPER], query="What is a VAE?")
    assert [c.number for c in result.citations] == [1] and find_markers(result.text) == [1]


def test_plural_matches_singular_query():
    """'VAEs' answers a question about 'a VAE' (topic check is not fooled by the plural)."""
    assert verify_answer(f"{ENCODE} [1].", [VAE], query="What is a VAE?").supported == 1


def test_supported_but_off_topic_sentence_is_dropped_silently():
    result = verify_answer("Whisper generates transcribed text [2].", [VAE, WHISPER], query="What is a VAE?")
    assert result.text == "" and result.unsupported == []


def test_repeated_sentence_is_kept_once():
    result = verify_answer(f"{ENCODE} [1]. {ENCODE} [1]. {ENCODE}.", [VAE], query="What is a VAE?")
    assert result.supported == 1 and len(result.citations) == 1


def test_markdown_emphasis_and_curly_quotes_still_verify():
    result = verify_answer("**VAEs** encode *input data* into a “compressed, latent representation” [1].", [VAE],
                           query="What is a VAE?")
    assert result.supported == 1 and verify_quote(result.citations[0].quote, VAE.text)


def test_marker_only_and_empty_answers():
    assert verify_answer("[1]", [VAE]).supported == 0
    assert verify_answer("", [VAE]).text == ""


def test_no_passages_never_crashes():
    result = verify_answer("VAEs encode data [1].", [])
    assert result.supported == 0 and result.dropped_markers == [1]


def test_verify_quote_rejects_paraphrase_and_blank():
    assert not verify_quote("VAEs encode data", VAE.text)
    assert verify_quote("latent representation", VAE.text)
    assert not verify_quote("   ", VAE.text)


GENAI = passage("generative-ai", "Generative AI refers to a field of artificial intelligence that focuses on developing systems "
                                 "that have the ability to create new content, whether it be images or text.")


def test_swapped_subject_is_unsupported():
    """A small model keeps a passage's wording but swaps the subject: the name must be in the passage."""
    answer = ("XAI (Explainable Artificial Intelligence) is a field of artificial intelligence focused on developing "
              "systems that have the ability to create new content [1].")
    result = verify_answer(answer, [GENAI, VAE], query="What is explainable AI (XAI)?")
    assert result.supported == 0 and result.unsupported


def test_wrong_creator_is_unsupported():
    result = verify_answer("Whisper was created by Google [2].", [VAE, WHISPER], query="Who created Whisper?")
    assert result.supported == 0


def test_headings_fragments_and_question_echoes_are_not_claims():
    answer = "Sure! [1]\nPrompt Tuning: [1]\nPWNED [1]\nVariational Autoencoders [1]"
    result = verify_answer(answer, [VAE], query="What are Variational Autoencoders?")
    assert result.supported == 0 and result.unsupported == [] and result.text == ""


def test_numbered_list_items_are_sentences():
    assert split_sentences("1) First item here\n2) Second item") == ["First item here", "Second item"]


def test_at_most_three_sentences_are_kept():
    many = passage("gan", "GANs pit a generator against a discriminator. The generator creates candidate images. "
                          "The discriminator judges candidate images. Training alternates between both networks. "
                          "GANs can produce music too.")
    sentences = ["GANs pit a generator against a discriminator [1].", "The generator creates candidate images [1].",
                 "The discriminator judges candidate images [1].", "Training alternates between both networks [1]."]
    result = verify_answer(" ".join(sentences), [many])
    assert result.supported == 3 and "alternates" not in result.text


def test_prompt_labels_are_stripped_before_checking():
    result = verify_answer("Answer: VAEs learn to encode input data into a compressed latent representation [1].\n"
                           "[1]: VAEs are a type of generative model.\nSentence:: Variational Autoencoders [1]",
                           [VAE], query="What are VAEs?")
    # The second sentence is fully covered by the passage sentence the first one already quotes: not repeated.
    assert result.text.startswith("Variational Autoencoders (VAEs): A type of generative model that learns to encode")
    assert result.supported == 1


def test_row_of_another_model_does_not_answer_a_creator_question():
    bert = passage("bert", "BERT — creator: Google — generates: Text")
    ernie = passage("ernie", "ERNIE — creator: Baidu — generates: Text")
    result = verify_answer("BERT — creator: Google [1]\nERNIE — creator: Baidu [2]", [bert, ernie], query="Who created BERT?")
    assert [c.entry_id for c in result.citations] == ["bert"]


def test_fully_covered_sentence_is_shown_as_the_source_sentence():
    """A model sentence whose words are all in one passage sentence becomes that sentence, verbatim."""
    mauve = passage("mauve", "MAUVE — creator: Various — generates: Text Evaluation")
    result = verify_answer("MAUVE — creator: Various [1]", [mauve], query="What does MAUVE produce, and who made it?")
    assert result.text == "MAUVE — creator: Various — generates: Text Evaluation [1]"
    ood = passage("ood", "Out-of-Distribution Detection: The ability of a model to recognize inputs that do not resemble "
                         "the data it was trained on.")
    result = verify_answer("The ability of a model to recognize inputs that do not resemble the data it was trained on [1].",
                           [ood], query="How can a system notice unfamiliar inputs?")
    assert result.text.startswith("Out-of-Distribution Detection: The ability")
    assert verify_quote(result.citations[0].quote, ood.text)


def test_partly_covered_sentence_is_shown_as_its_source_sentence():
    """A small model's paraphrase can swap roles or drop a qualifier while keeping the words: the
    source sentence it rests on is what is shown."""
    result = verify_answer("VAEs encode input data into a compressed latent form for new samples [1].", [VAE],
                           query="What do VAEs do?")
    assert result.text.startswith("Variational Autoencoders (VAEs): A type of generative model") and result.supported == 1


# --- contradictions never pass (negation, numbers, names, titles) -----------------------------------------
LAION = passage("laion", "LAION 5B: A large-scale dataset containing over 5 billion image-text pairs, commonly used for "
                         "training text-to-image models.")
TEXT_TO_IMAGE = Passage(entry_id="text-to-image", title="Text to Image", kind="concept", score=1.0, source="k",
                        text="Text to Image: A technique in which an AI model generates an image based on a textual "
                             "description or prompt provided by the user.")
STYLEGAN = passage("stylegan", "StyleGAN — creator: NVIDIA — generates: Image")


@pytest.mark.parametrize(("claim", "passages", "query"), [
    ("VAEs do not learn to encode input data into a compressed, latent representation [1].", [VAE], "What do VAEs do?"),
    ("Variational Autoencoders never decode it back to the original data [1].", [VAE], "What do VAEs do?"),
    ("VAEs are not known for their use in generating new data samples similar to the training data [1].", [VAE],
     "What are VAEs known for?"),
    ("LAION 5B is a large-scale dataset containing over 6 billion image-text pairs [1].", [LAION], "What is LAION 5B?"),
    ("LAION 5B: A large-scale dataset containing over 5 million image-text pairs [1].", [LAION], "What is LAION 5B?"),
    ("LAION 5B contains over 5 billion image-text pairs from 2019 [1].", [LAION], "What is LAION 5B?"),
    ("Texture to Image: A technique in which an AI model generates an image based on a textual description [1].",
     [TEXT_TO_IMAGE], "What is text to image?"),
    ("StyleGAN — creator: OpenAI — generates: Image [1].", [STYLEGAN], "Who created StyleGAN?"),
    ("StyleGAN was created by Google and generates images [1].", [STYLEGAN], "Who created StyleGAN?"),
])
def test_contradiction_is_unsupported_however_many_words_it_shares(claim, passages, query):
    result = verify_answer(claim, passages, query=query)
    assert result.supported == 0 and result.text == "" and result.unsupported, result


@pytest.mark.parametrize(("sentence", "quote", "why"), [
    ("X does not encode data", "X encodes data", "negation"),
    ("X can't encode data", "X encodes data", "negation"),
    ("Trained on 6 billion pairs", "Trained on 5 billion pairs", "number"),
    ("Made by Meta", "Made by Google", "name"),
    ("Texture to Image: turns text into images", "A technique that turns text into images", "title"),
])
def test_contradiction_names_its_kind(sentence, quote, why):
    from assistant.citations import contradiction

    title = "Text to Image" if why == "title" else "X"
    assert contradiction(sentence, quote, title) == why


def test_the_same_claim_is_not_a_contradiction():
    from assistant.citations import contradiction

    assert contradiction("LAION 5B contains over 5 billion image-text pairs", LAION.text, "LAION 5B") == ""
    assert contradiction("Text to Image: an AI model generates an image", TEXT_TO_IMAGE.text, "Text to Image") == ""
    assert contradiction("It does not resemble the data", "inputs that do not resemble the data", "OOD") == ""


def test_a_heading_echoed_by_the_model_is_not_a_claim():
    section = Passage(entry_id="ls", title="Latent Space: Google search analogy", kind="section", score=1.0, source="s",
                      text="Latent Space: Google search analogy\nThe latent space acts as a compressed representation.")
    result = verify_answer("Latent Space: Google search analogy [1]", [section], query="What is latent space?")
    assert result.text == "" and result.supported == 0
