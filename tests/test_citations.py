"""Citation verification and the extractive fallback, as pure functions (no LLM)."""

from assistant.citations import (
    extractive_answer,
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


def test_extractive_fallback_quotes_passages_and_cites_them():
    result = extractive_answer("Who created Whisper?", [VAE, WHISPER], max_sentences=1)
    assert result.citations[0].entry_id == "whisper"
    assert result.text == "Whisper — creator: OpenAI — generates: Transcribed Text [2]"
    assert all(verify_quote(c.quote, c.passage_text) for c in result.citations)


def test_extractive_fallback_on_empty_passages():
    assert extractive_answer("anything", []).text == ""


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


def test_extractive_answer_quotes_are_verbatim_and_ordered():
    result = extractive_answer("What are VAEs known for?", [VAE, WHISPER])
    assert result.citations and all(verify_quote(c.quote, c.passage_text) for c in result.citations)
    assert [c.number for c in result.citations] == sorted(c.number for c in result.citations)


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
    assert result.text == "VAEs learn to encode input data into a compressed latent representation. [1]"


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


def test_partly_covered_sentence_keeps_the_models_wording():
    result = verify_answer("VAEs encode input data into a compressed latent form for new samples [1].", [VAE],
                           query="What do VAEs do?")
    assert result.text.startswith("VAEs encode input data") and result.supported == 1


def test_extractive_skips_headings():
    section = Passage(entry_id="tl", title="Transfer Learning in Generative AI", kind="section", score=1.0, source="s",
                      text="Transfer Learning in Generative AI\nTransfer learning reuses a model trained on one task for "
                           "another.\nAnalogy: It is like a painter skilled in oil painting picking up watercolors.")
    result = extractive_answer("What is transfer learning in generative AI?", [section], max_sentences=1)
    assert result.text == "Transfer learning reuses a model trained on one task for another. [1]"


def test_extractive_with_only_headings_still_cites_something():
    heading = Passage(entry_id="h", title="Diffusion", kind="section", score=1.0, source="s", text="Diffusion Models Explained")
    result = extractive_answer("What is diffusion?", [heading])
    assert result.text == "Diffusion Models Explained [1]" and result.citations[0].quote == "Diffusion Models Explained"
