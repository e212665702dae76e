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
    assert split_sentences("First one. Second one!\n- bullet item\n- another") == ["First one.", "Second one!", "bullet item", "another"]
    assert split_sentences("Use e.g. text or images, and more.") == ["Use e.g. text or images, and more."]
