"""text: cleaning untrusted input (B3) and normalising for verbatim checks."""

from __future__ import annotations

import re

import pytest

from assistant.text import QUOTE_VARIANTS, clean_text, content_words, is_field_word, normalize, singular, stem, unify, words


@pytest.mark.parametrize(("dirty", "clean"), [
    ("a\x00b", "ab"),                                            # NUL
    ("a\x07\x08\x0b\x0c\x1fb", "ab"),                            # C0 controls
    ("a\x7f\x80\x9fb", "ab"),                                    # DEL and C1 controls
    ("\x1b[31mred\x1b[0m", "red"),                               # ANSI colour (CSI)
    ("\x1b[2J\x1b[Hclear", "clear"),                             # cursor movement
    ("\x1b]0;title\x07text", "text"),                            # OSC set-title, BEL-terminated
    ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),     # OSC 8 hyperlink, ST-terminated
    ("\x1bMup", "up"),                                           # two-character escape
    ("\x9b31mred", "red"),                                       # 8-bit CSI
    ("zero\u200bwidth\u200c\u200d\u2060", "zerowidth"),          # zero-width space/joiners, word joiner
    ("\ufeffbom", "bom"),                                        # byte-order mark
    ("a\u202eb\u2066c\u2069", "abc"),                            # bidi overrides and isolates
    ("soft\u00adhyphen", "softhyphen"),
    ("hi\U000e0049\U000e0047\U000e004e\U000e004f\U000e0052\U000e0045", "hi"),  # Unicode tag smuggling
    ("x\U000e0100\U000e01efy", "xy"),                            # variation selectors supplement
    ("lone\ud800surrogate\udfff", "lonesurrogate"),
    ("line\u2028next\u2029para", "line\nnext\npara"),
])
def test_clean_text_strips_hidden_characters(dirty, clean):
    assert clean_text(dirty) == clean


@pytest.mark.parametrize("text", ["tab\there\nnewline\r\n", "café naïve Æ", "生成式人工智能", "emoji 🤖👍🏽", "‘quotes’ — dash",
                                  "math: x < y > z & 5%", "<img src=x onerror=alert(1)>"])
def test_clean_text_keeps_ordinary_text(text):
    assert clean_text(text) == text


def test_clean_text_composes_to_nfc():
    assert clean_text("cafe\u0301") == "café"


def test_normalize_unifies_case_quotes_dashes_and_space():
    assert normalize("The  Model’s “Output” – ok\u00a0now") == "the model's \"output\" - ok now"
    assert normalize("ﬁne") == "fine"  # NFKC ligature


def test_words_and_content_words():
    assert words("GPT-3 can't write 2 poems!") == ["gpt-3", "can't", "write", "2", "poems"]
    assert content_words("What is the output of a VAE?") == ["output", "vae"]


def test_unify_keeps_case_and_makes_quotes_plain():
    assert unify("  LoRA’s\u00a0“x” – y\n") == "LoRA's \"x\" - y"
    assert all(normalize(v) == normalize(plain) for plain, variants in QUOTE_VARIANTS.items() for v in variants)


def test_one_stemmer_and_singular():
    assert stem("vaes") == stem("vae") == "vae" and stem("generates") == stem("generated") == "generat"
    assert stem("routing") != stem("routine")
    assert singular("companies") == "company" and singular("models") == "model" and singular("class") == "class"


def test_field_words_are_shared():
    assert is_field_word("creator") and is_field_word("generates") and is_field_word("explain")
    assert not is_field_word("diffusion") and not is_field_word("nvidia")

@pytest.mark.parametrize(("message", "question"), [
    ("<b>x</b> What is LoRA?", "x What is LoRA?"),
    ("What is a GAN? Also, thanks a lot!", "What is a GAN?"),
    ("Hi! Quick question: what is LoRA? Thanks!", "What is LoRA?"),
    ("**What** is `SDXL`?", "What is SDXL?"),
    ("How is SDXL different from SD1.5?", "How is SDXL different from SD1.5?"),
    ("Tell me about VAEs. How are they trained?", "Tell me about VAEs. How are they trained?"),
    ("hey!! quick question - what's a VAE??? thanks a lot", "What's a VAE?"),
    # a message typed all in lower case stays in lower case (NameIndex then reads names in any case)
    ("ok so like... what does stable diffusion even generate lol", "like... what does stable diffusion even generate"),
    ("Explain overfitting to me like I'm five.", "Explain overfitting."),
    ("explain GANs like i am 5 pls", "Explain GANs"),
    ("ELI5: what is a GAN?", "What is a GAN?"),
    ("what is a GAN, eli5", "What is a GAN"),
    ("ELI5?", "ELI5?"),  # the request alone is a follow-up: nothing else is left to ask
    ("Can you tell me, in simple words, what a latent space is?", "What a latent space is?"),
    ("In simple terms, how does a diffusion model work?", "How does a diffusion model work?"),  # no comma left in front
    ("So I was reading about image models and I wondered: who made Midjourney?",
     "I was reading about image models and I wondered: who made Midjourney?"),
    # an interjection, when something is asked ("these days"), and an emoji that ends a sentence
    ("wait, so who made LoRA?", "Who made LoRA?"),
    ("who does the list say LoRA belongs to these days?", "Who does the list say LoRA belongs to?"),
    ("What is LoRA? 🙂", "What is LoRA?"),
    # why the user asks ("for my thesis"), a drawn-out greeting and a "quick q" lead-in are no topic
    ("heyyy quick q for my thesis lol: Perceiver IO — who made it?", "Perceiver IO — who made it?"),
    ("hiii, for my homework: what is a GAN?", "What is a GAN?"),
    ("who made megatron-lm??", "who made megatron-lm?"),
    # HTML entities are the characters they stand for, and tags written as entities are tags
    ("<div><p>Who built <strong>BigBird</strong> &amp; what does it output?</p></div>",
     "Who built BigBird & what does it output?"),
    ("What does &lt;em&gt;interpolation&lt;/em&gt; mean?", "What does interpolation mean?"),
    # what the user does not know is no topic
    ("i have no clue who even makes jasper", "who even makes jasper"),
    # a JSON payload pasted as the message: its question
    ('{"user_query": "what is a GAN?", "lang": "en", "client": "web-2.3.1"}', "what is a GAN?"),
    ('{"lang": "en", "note": "who made LoRA?"}', "who made LoRA?"),
    ("{not json} what is a GAN?", "{not json} what is a GAN?"),
    # a greeting to a group, well-wishing and a letter's closing are no topic
    ("Hi all, hope your week's going well! Who made AlphaStar? Thanks heaps, Dave", "Who made AlphaStar?"),
    ("Hello everyone, what is a GAN? Cheers, Sam", "What is a GAN?"),
    ("Which one is the best Transformer", "Which one is the best Transformer"),  # no closing: a name ends the question
])
def test_focus_question_keeps_the_question_and_drops_the_noise(message, question):
    from assistant.text import focus_question

    assert focus_question(message) == question


def _names_entry(sentence: str) -> bool:
    return bool(re.search(r"\b(GANs?|LoRA|VAEs?|Midjourney)\b", sentence))


def _on_topic(sentence: str) -> bool:
    return _names_entry(sentence) or "diffusion" in sentence.lower()


@pytest.mark.parametrize(("message", "question"), [
    # sentences that ask nothing and name nothing are context about the asker, not the question
    ("I'm a beginner. What is LoRA? Keep it short please.", "What is LoRA?"),
    ("So I was reading about image models and I wondered: who made Midjourney?", "Who made Midjourney?"),
    ("I'm confused. How does diffusion work?", "How does diffusion work?"),
    # a lead-in that points back is part of the question
    ("the last one: what kind of game play?", "the last one: what kind of game play?"),
    # ... but a sentence naming an entry is what a pronoun refers to
    ("I read about GANs. How are they trained?", "I read about GANs. How are they trained?"),
    # ... and so is a sentence naming nothing when the question refers back to it and nothing else is named
    ("One concept in the list is a website. Which one is it?", "One concept in the list is a website. Which one is it?"),
    ("Some image models run on a phone. Which ones does the table list?",
     "Some image models run on a phone. Which ones does the table list?"),
    # "that" at the end, "like that", and a count that only adds "many" and an adverb point back too
    ("A hospital wants a model to make up fake patient records. What's the name for that?",
     "A hospital wants a model to make up fake patient records. What's the name for that?"),
    ("I need something that boxes objects in photos. Anything like that in the model table?",
     "I need something that boxes objects in photos. Anything like that in the model table?"),
    # an ask that ends on "something" / "anything" wants what the sentence before describes
    ("My aunt translates old letters for a living. Is there anything?",
     "My aunt translates old letters for a living. Is there anything?"),
    ("The list numbers both of its items as 1. How many items are there really, and what are they?",
     "The list numbers both of its items as 1. How many items are there really, and what are they?"),
    ("I'm a designer not an engineer 😅 what is a prompt?", "What is a prompt?"),  # an emoji ends a sentence
    # an ask whose "it" comes before the entry it names refers to the sentence before
    ("Midjourney makes images. Is it a GAN, like the others?", "Midjourney makes images. Is it a GAN, like the others?"),
    # ... but not when every ask names an entry of its own: the named sentence is only where the asker was
    ("I've been in a LoRA Discord and everyone argues about GANs 🙃 what does the article say a VAE is?",
     "What does the article say a VAE is?"),
    # a question with words of its own stands alone
    ("I trained a model on photos. How do I get it working on sketches without labelling new data?",
     "How do I get it working on sketches without labelling new data?"),
    # of several questions, the one on no topic of the material is dropped while another remains
    ("What is LoRA? Also, what's your favourite colour?", "What is LoRA?"),
    # ... but a question of field words after a statement to confirm asks about the statement's subject
    ("LoRA is in the model table, right? Who's it credited to?", "LoRA is in the model table, right? Who's it credited to?"),
    ("LoRA is in the model table. Who's it credited to?", "LoRA is in the model table. Who's it credited to?"),
    # ... and so does one after a sentence that names an entry: "What about X? / What about X:" then its fields
    ("What about LoRA? Who made it and what does it output?", "What about LoRA? Who made it and what does it output?"),
    ("What about LoRA: who made it?", "What about LoRA: who made it?"),
    ("What's your favourite colour?", "What's your favourite colour?"),
])
def test_focus_question_keeps_what_the_material_can_answer(message, question):
    from assistant.text import focus_question

    assert focus_question(message, _names_entry, _on_topic) == question


def test_vocabulary_knows_rarity_and_corrects_one_edit_typos():
    from assistant.text import Vocabulary

    vocabulary = Vocabulary(["ERNIE 3.0 Titan was made by Baidu.", "Diffusion models made images.", "Diffusion again",
                             "A variational method"])
    assert vocabulary.known("diffusion") and not vocabulary.known("tokenization")
    assert vocabulary.known("variational-and-diffusion")  # a compound is known when its words are ("and" aside)
    assert Vocabulary(["Models like GPT or DALL-E."]).known("gpts")  # a plural the stemmer keeps whole
    assert vocabulary.idf("tokenization") > vocabulary.idf("made")
    assert vocabulary.correct("who maed ernie 3.0 titan??") == "who made ernie 3.0 titan??"
    assert vocabulary.correct("how do difusion models work") == "how do diffusion models work"
    assert vocabulary.correct("how does rope work") == "how does rope work"  # four letters: only swapped letters are fixed
    assert vocabulary.correct("What is Difusion") == "What is Difusion"  # capitalised words are names: left alone
    # an English word the material does not use is no typo of one it does ("simple" is not "sample")
    sampled = Vocabulary(["A sample of the data.", "Another sample drawn."])
    assert sampled.correct("explain it in simple words") == "explain it in simple words"
    assert sampled.correct("what is a smaple") == "what is a sample"
    # misspelt small words of the question's frame, the longest candidate winning ("wich": which, not with)
    assert sampled.correct("waht is teh sample, wich one") == "what is the sample, which one"
    assert sampled.correct("whats a sample") == "what's a sample"  # a contraction gets its apostrophe back
    assert sampled.correct("doesnt it, isnt it") == "doesn't it, isn't it"
    assert sampled.correct("whos the creater of ernie n what dose it make") == "who's the creator of ernie and what does it make"
    assert sampled.correct("how dose it work") == "how does it work"  # "dose" as a misspelt auxiliary only after a question word
    assert sampled.correct("wat is a sample n y r there two") == "what is a sample and why are there two"  # chat shorthand
    assert sampled.correct("a dose of noise") == "a dose of noise"


def test_a_word_longer_than_any_real_one_is_not_corrected():
    """Its one-edit variants would cost memory quadratic in its length (a 2,000-letter 'word' is a valid question)."""
    import time

    from assistant.text import Vocabulary

    long_word = "abcdefghij" * 200
    started = time.perf_counter()
    assert Vocabulary(["A sample."]).correct(f"what is {long_word}") == f"what is {long_word}"
    assert time.perf_counter() - started < 0.05


def test_name_words_are_names_not_shouting():
    from assistant.text import name_words

    assert name_words("Does the table list anything from OpenAI or Nightshade?") == ["openai", "nightshade"]
    assert name_words("Which things DON'T I want in the picture, and is GPT-3 NOT a text model?") == ["gpt-3"]
    assert name_words("If I flip the ones I've got, and I'm short of data, is that Google's trick?") == ["google's"]


def test_an_entry_named_only_as_an_example_of_what_is_asked():
    from assistant.text import named_as_example

    assert named_as_example("Why can a big model like GPT or DALL-E pick up a niche style?", ["dall-e"])
    assert named_as_example("Why can systems such as Stable Diffusion look so real?", ["stable diffusion"])
    assert not named_as_example("What does DALL-E generate, and is it like GPT?", ["dall-e"])


def test_the_asking_clause_starts_at_a_question_word_after_and():
    from assistant.text import asking_clause

    assert asking_clause("my boss wants us to try jasper for blog posts and who even makes it?") == "who even makes it?"
    assert asking_clause("What is LoRA and how does it work?") == "What is LoRA and how does it work?"  # asks from the start


def test_a_statement_with_a_tag_after_a_dash_lead_in_is_what_is_asked():
    from assistant.text import asking_clause

    assert asking_clause("putting my slides together — RAG is a Microsoft model, right?") == "RAG is a Microsoft model, right?"
    assert asking_clause("Copilot — who made it?") == "who made it?"
    assert asking_clause("and the T-NLG row further down, who's that from?") == "who's that from?"  # after a comma too
    assert asking_clause("ChatGPT is in the model table, right? Who's it credited to?") == "Who's it credited to?"
    assert asking_clause("RAG is a Microsoft model, right?") == "RAG is a Microsoft model, right?"


def test_a_question_asking_only_whether_the_claim_before_is_so_asks_the_claim():
    from assistant.text import asking_clause

    assert asking_clause("My friend says Whisper was made by Google. Is that right?") == "Whisper was made by Google, right?"
    assert asking_clause("My lecturer's slide says LangChain comes from Facebook AI. Is that what the article's table says?") \
        == "LangChain comes from Facebook AI, right?"
    assert asking_clause("Whisper was made by Google. Who made it really?") == "Who made it really?"  # a question of its own


def test_a_long_word_the_material_uses_once_corrects_a_typo():
    from assistant.text import Vocabulary

    vocabulary = Vocabulary(["A checkpoint saves the weights.", "Diffusion models made images.", "Diffusion again"])
    assert vocabulary.correct("what does a checkpiont mean") == "what does a checkpoint mean"
    # a British spelling is no typo of the American one the material uses
    american = Vocabulary(["Summarize and optimize.", "Practice with watercolors."])
    assert american.correct("summarise, optimise, practise, watercolours") == "summarise, optimise, practise, watercolours"
