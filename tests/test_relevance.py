"""Which source sentences answer a question: the question's aspect, the retrieval's order by entry,
a section's opening sentence, and the most relevant sentence kept when the model passes it over."""

from __future__ import annotations

import re

import pytest

from assistant.relevance import Candidate, SentenceRanker, about, aspect
from assistant.synthesizer import _assemble
from assistant.types import Passage

DIFFUSION = [  # sentences of the article's "Diffusion models" section
    "Diffusion models are a powerful type of generative model that work in a very unique and almost counterintuitive way.",
    "Some of the most powerful generative models like Latent Diffusion and Stable Diffusion are based on this diffusion "
    "approach.",
    "The generated results can be stunningly realistic because the model deeply understands all the steps required to "
    "construct complex data from scratch.",
]
ETHICS = [  # the first two sentences of "Challenges and Ethical Considerations"
    "While Generative AI holds immense potential, it also poses challenges and ethical considerations.",
    "Issues such as bias in training data, misuse of generated content, and the potential to create deepfakes "
    "highlight the need for responsible development and deployment of these technologies.",
]


def _rank(embed_model, question: str, sentences: list[str], entry: tuple[str, str], names: list[str]) -> list[float]:
    """The ranker's scores for `sentences` of one entry (id, title)."""
    found = [Candidate(1, i, s, *entry) for i, s in enumerate(sentences)]
    return SentenceRanker(embed_model).score(question, found, names=names)


def test_aspect_is_the_question_without_its_subject():
    assert aspect("Why can diffusion models produce such realistic results?", ["diffusion models", "Diffusion model"]) \
        == "Why can produce such realistic results?"
    assert aspect("How do Transformers handle images?", ["transformer"]) == "How do handle images?"  # plural of the name
    # nothing but field words would remain: the question itself
    assert aspect("What is generative AI?", ["generative ai"]) == "What is generative AI?"
    assert aspect("What is LoRA?", []) == "What is LoRA?"


def test_the_sentence_answering_the_aspect_ranks_first(embed_model):
    """Every sentence of the entry is about the subject; the name in the question must not pull the
    sentence that merely repeats it ahead of the one that says why."""
    scores = _rank(embed_model, "Why can diffusion models produce such realistic results?", DIFFUSION,
                   ("diffusion-models", "Diffusion models"), ["diffusion models", "diffusion model"])
    assert max(zip(scores, DIFFUSION, strict=True))[1].startswith("The generated results can be stunningly realistic")


def test_a_question_asking_what_kinds_prefers_the_sentence_that_lists_them(embed_model):
    """"What ethical concerns ..." is answered by the sentence listing them, not the one naming them."""
    scores = _rank(embed_model, "What ethical concerns does the article raise about generative AI?", ETHICS,
                   ("challenges", "Challenges and Ethical Considerations"), ["generative ai"])
    assert scores[1] > scores[0]


def test_a_lead_in_that_announces_what_follows_is_no_candidate():
    from assistant.relevance import candidates

    passage = _passage("Diffusion models", "But here’s where it gets clever:\n\nIn the second phase, you then train that same "
                       "model to reverse the process.", "d#1")
    assert [c.sentence for c in candidates([passage])] == ["In the second phase, you then train that same model to reverse "
                                                             "the process."]


def test_chunks_of_one_entry_share_its_place_in_the_retrieval(embed_model):
    """The retrieval's order counts by entry: a long section's third chunk is not pushed below a
    neighbouring entry's passage because its own first chunk came first."""
    ranker = SentenceRanker(embed_model)
    same = [Candidate(n, 0, "Transformers use self-attention to relate all positions at once.", "transformers", "Transformers")
            for n in (1, 3)]
    other = Candidate(2, 0, "Transformers use self-attention to relate all positions at once.", "attention", "Attention")
    first, second, third = ranker.score("How do transformers relate positions?", [same[0], other, same[1]])
    assert first == pytest.approx(third) and third > second + 0.05


def _passage(title: str, text: str, node_id: str, kind: str = "section") -> Passage:
    return Passage(entry_id=title.lower().replace(" ", "-"), title=title, kind=kind, text=text, score=1.0, source="s",
                   node_id=node_id)


def test_a_section_opening_that_points_at_its_heading_is_led_by_the_title():
    text = "LoRA and Prompt Tuning\n\nThese are efficient methods to adapt large pre-trained models to new tasks."
    passage = _passage("LoRA and Prompt Tuning", text, "n0")
    chosen = [Candidate(1, 1, "These are efficient methods to adapt large pre-trained models to new tasks.",
                        passage.entry_id, passage.title)]
    answer, citations = _assemble(chosen, [passage], opening=frozenset({"n0"}))
    assert answer.startswith("LoRA and Prompt Tuning are efficient methods")
    assert citations[0].quote == chosen[0].sentence  # the quote stays verbatim
    # In a later chunk "These" points at a sentence that is not there: the sentence cannot stand alone.
    assert _assemble(chosen, [passage], opening=frozenset())[0] == ""


def _copy_last_sentence(body: dict) -> str:
    """A 'model' that repeats only the last sentence it was given, cited."""
    prompt = body["messages"][-1]["content"]
    number, text = re.findall(r"^\[(\d+)\] (.+)$", prompt, flags=re.M)[-1]
    last = re.split(r"(?<=[.!?])\s+", re.sub(r"^[A-Z][\w ]{0,40}: ", "", text))[-1]  # without a "Title: " lead
    return f"{last.rstrip('.')} [{number}]."


def test_the_most_relevant_sentence_is_kept_when_the_model_passes_it_over(assistant, fake):
    """The model copies one of the weaker sentences it was given; the answer still holds the one that answers."""
    fake.set_mode("ok", reply_fn=_copy_last_sentence)
    answer = assistant.ask("How do transformers handle image data rather than text?")
    copied = _copy_last_sentence(fake.requests[-1])[:-5]
    assert "pixels" not in copied
    assert answer.mode == "generated" and copied in answer.text
    assert "how individual pixels relate to other pixels" in answer.text
    assert all(c.entry_id == "transformers" for c in answer.citations)


def test_a_sentence_naming_the_subject_in_the_plural_is_about_it():
    ckpt = Candidate(1, 0, "A file format commonly used for storing checkpoints or trained parameters of AI models.",
                     "ckpt", "CKPT")
    assert about(ckpt, {"checkpoint"}, ["Checkpoint"])
    assert not about(ckpt, {"checkpoint"}, ["Check"])


def test_a_model_row_answers_only_what_prose_does_not(assistant, fake):
    """"How does Stable Diffusion work?" is answered by the prose that speaks of it, not by its table row;
    a question about a model that only its row speaks of is answered from the row."""
    works = assistant.ask("How does Stable Diffusion work?")
    assert not works.refused and "— creator:" not in works.text and "diffusion approach" in works.text
    same = assistant.ask("Is Whisper AI a different model from Whisper?")
    assert not same.refused and "— creator: OpenAI" in same.text


def test_a_list_question_whose_noun_names_the_section_still_prefers_the_list(embed_model):
    """"Challenges" is also a name of the section, yet "What challenges ..." asks for the sentence listing them."""
    scores = _rank(embed_model, "What challenges does generative AI pose?", ETHICS,
                   ("challenges", "Challenges and Ethical Considerations"),
                   ["Challenges and Ethical Considerations", "Challenges", "challenge"])
    assert scores[1] > scores[0] - 0.15  # within the margin an answer keeps


def test_which_models_use_a_technique_prefers_the_sentence_naming_some(embed_model):
    scores = _rank(embed_model, "Which well-known models are built on diffusion?", DIFFUSION,
                   ("diffusion-models", "Diffusion models"), ["diffusion models"])
    assert max(zip(scores, DIFFUSION, strict=True))[1].startswith("Some of the most powerful generative models like")


def test_an_analogy_in_the_main_clause_is_an_aside():
    from assistant.relevance import is_aside

    assert is_aside("LoRA and prompt tuning are like specialized “micro-courses” that rapidly upskill them.")
    assert is_aside("Analogy: a chef who specializes.") and is_aside("Imagine you are an artist.")
    assert is_aside("Latent Space: Just like Google retrieves pages ...", "Latent Space")
    assert not is_aside("The generator creates content, while the discriminator evaluates it, akin to a composer.")
    assert not is_aside("Prompt: The textual input provided to an AI model.", "Prompt")
    # thinking of a term as something still defines it
    assert not is_aside("Latent Space: You can think of latent space as a kind of “creativity engine”.", "Latent Space")
    assert is_aside("It’s like having an art forger and an art expert.")


def test_a_part_of_the_named_entry_is_answered_wherever_it_is_explained(assistant, fake):
    """"the discriminator in a GAN" is explained in Adversarial Training, which does not name GANs."""
    answer = assistant.ask("How does the discriminator in a GAN know which pictures are fake?")
    assert not answer.refused and "spot even the tiniest flaws" in answer.text


def test_a_comparison_asking_for_an_example_gets_the_example(assistant, fake):
    """Two named entries and "versus" make a comparison, but the question asks for the article's example."""
    answer = assistant.ask("How does the new-game example explain zero-shot versus few-shot learning?")
    assert not answer.refused and "new game" in answer.text


def test_a_why_question_prefers_the_sentence_giving_a_reason(embed_model):
    adversarial = ["In adversarial training, you set up two competing AI networks – a generator and a discriminator.",
                   "As they compete against each other over many rounds, the generator gradually gets better and better at "
                   "creating realistic fakes."]
    scores = _rank(embed_model, "Why does adversarial training pit two networks against each other?", adversarial,
                   ("adversarial-training", "Adversarial Training"), ["adversarial training"])
    assert scores[1] > scores[0]


def test_a_reason_in_another_entry_does_not_outrank_the_entry_that_answers(embed_model):
    """A "why" question prefers a sentence giving a reason within the entry that answers; another entry's "crucial for"
    does not lift it above the first-ranked entry ("Why keep a running average of a generator's weights?": EMA)."""
    found = [Candidate(1, 0, "Exponential Moving Average (EMA): A technique used in training generative models to stabilize "
                             "training by averaging model parameters over time, often leading to smoother and more stable "
                             "learning.", "exponential-moving-average-ema", "Exponential Moving Average (EMA)"),
             Candidate(2, 0, "Weight Initialization: The process of setting the initial values of the weights in a neural "
                             "network before training begins, crucial for ensuring effective and stable learning.",
                       "weight-initialization", "Weight Initialization")]
    scores = SentenceRanker(embed_model).score("Why would you keep a running average of a generator's weights while it "
                                               "trains?", found)
    assert scores[0] > scores[1]


def test_a_how_question_prefers_the_sentence_telling_the_steps_within_the_entry_that_answers(embed_model):
    """"How does a diffusion model work?" is answered by the steps, not by the opening that announces them; the
    preference orders the best entry's sentences only, and never lifts an analogy or another entry."""
    steps = DIFFUSION[:1] + ["By learning this denoising process of reversing the incremental degradation of data back "
                             "to its source, the model learns to generate new data from pure noise."]
    entry = ("diffusion-models", "Diffusion models")
    how = _rank(embed_model, "How does a diffusion model work?", steps, entry, ["diffusion models"])
    plain = _rank(embed_model, "Describe the way a diffusion model works.", steps, entry, ["diffusion models"])
    assert how[1] - how[0] > plain[1] - plain[0] + 0.2  # the steps gain what the opening does not
    found = [Candidate(1, 0, steps[0], *entry),
             Candidate(2, 0, "Adetailer: A method for enhancing the details of generated images by applying additional "
                             "processing steps.", "adetailer", "Adetailer")]
    how = SentenceRanker(embed_model).score("How does a diffusion model work?", found)
    plain = SentenceRanker(embed_model).score("Describe the way a diffusion model works.", found)
    assert how[1] - how[0] < plain[1] - plain[0] + 0.1  # another entry's "by applying" earns nothing


def _copy_first_sentence(body: dict) -> str:
    """A 'model' that repeats only the first sentence it was given, cited."""
    prompt = body["messages"][-1]["content"]
    number, text = re.findall(r"^\[(\d+)\] (.+)$", prompt, flags=re.M)[0]
    first = re.split(r"(?<=[.!?])\s+", re.sub(r"^[A-Z][\w ]{0,40}: ", "", text))[0]
    return f"{first.rstrip('.')} [{number}]."


def test_the_sentence_giving_what_is_asked_for_is_kept_when_the_model_passes_it_over(assistant, fake):
    """The model copies the sentence that only names the challenges; the answer still lists them."""
    fake.set_mode("ok", reply_fn=_copy_first_sentence)
    answer = assistant.ask("What challenges come with generative models?")
    assert answer.mode == "generated" and "bias in training data" in answer.text


def test_what_a_question_asks_for_is_read_in_bounded_time():
    import time

    from assistant.relevance import asked_for

    started = time.perf_counter()
    assert asked_for(("which models " * 160)[:2000]) is None
    assert time.perf_counter() - started < 0.05  # unbounded gaps took 0.2 s here


def test_a_use_case_is_asked_like_an_example():
    from assistant.relevance import asked_for

    example = "Example: With a small amount of data, you could fine-tune GPT-3 with LoRA for legal contracts."
    for question in ("Any concrete use case (about LoRA)?", "Give me an example (about LoRA).", "How is it used in practice?"):
        found = asked_for(question)
        assert found is not None and found[1].search(example), question


COMPOSITIONALITY = [  # the article's "Compositionality" section: an analogy and an example, no definition
    "Analogy: Compositionality is like having an infinitely creative child who can take different toy pieces (concepts) "
    "and continually recombine them in endlessly novel ways to build new imagined creations beyond the original toy sets.",
    "Example: A model can combine the concepts of “dolphin”, “rocket”, and “birthday cake” in creative ways to generate "
    "entirely new hypothetical scenes like a rocket-propelled dolphin leaping out of a cake into space.",
]


@pytest.mark.parametrize("question", [
    "What do you call a model's knack for mixing ideas it knows into new combinations?",
    "What's the term for training with noisy labels?", "Is there a name for that?",
    "Are there image generation methods that work inside a compressed space?",
    "Which technique keeps a running average of the weights?",
])
def test_questions_asking_for_a_name(question):
    from assistant.relevance import NAMING

    assert NAMING.search(question)


def test_a_question_asking_for_a_name_prefers_the_sentence_that_says_it(embed_model):
    """Within the entry that answers, the sentence with the entry's name ranks higher for "What's the term for ...?"
    than for a question that does not ask for a name; an analogy that names it is still an aside."""
    from assistant.relevance import names_entry

    sentences = ["Advanced generative modeling approaches that operate in the compressed latent space rather than pixel "
                 "space.", "Example: Latent Diffusion models learn the generative process directly in the compressed "
                 "latent representations."]
    entry = ("latent-diffusion-and-plms-sampling", "Latent Diffusion and PLMS Sampling")
    assert names_entry(Candidate(1, 1, sentences[1], *entry)) and not names_entry(Candidate(1, 0, sentences[0], *entry))
    named = _rank(embed_model, "What's the term for generating inside a compressed space?", sentences, entry, [])
    plain = _rank(embed_model, "Tell me about generating inside a compressed space.", sentences, entry, [])
    assert named[1] - named[0] > plain[1] - plain[0] + 0.2
    entry = ("compositionality", "Compositionality")
    scores = _rank(embed_model, "What do you call mixing known ideas into new ones?", COMPOSITIONALITY, entry, [])
    unasked = _rank(embed_model, "Tell me about mixing known ideas into new ones.", COMPOSITIONALITY, entry, [])
    # the analogy gains no cue weight; the example does, as no other sentence names the entry (it is led by the title)
    assert (scores[1] - unasked[1]) - (scores[0] - unasked[0]) > 0.2


def test_an_answer_to_a_naming_question_says_the_name():
    """When no sentence of the answering entry says its name, the first is led by the title."""
    passage = _passage("Compositionality", "\n\n".join(COMPOSITIONALITY), "n0")
    chosen = [Candidate(1, 1, COMPOSITIONALITY[1], passage.entry_id, passage.title)]
    answer, citations = _assemble(chosen, [passage], naming=True)
    assert answer.startswith("Compositionality: Example: A model can combine") and citations[0].quote == COMPOSITIONALITY[1]
    assert _assemble(chosen, [passage])[0].startswith("Example:")  # not asked for a name: as the source has it


def test_a_question_naming_its_subject_asks_for_another_entry_not_the_subjects_name(embed_model):
    """"Is there a strategy of that kind (self-supervised learning) in the glossary?" asks for another entry: the
    subject's own sentence gets no naming preference."""
    found = [Candidate(1, 0, "Self-Supervised Learning: A training approach where models learn from the data itself.",
                       "self-supervised-learning", "Self-Supervised Learning"),
             Candidate(2, 0, "Contrastive Learning: A self-supervised learning strategy that teaches models to pull "
                             "together similar data points.", "contrastive-learning", "Contrastive Learning")]
    names = ["self-supervised learning"]
    ranker = SentenceRanker(embed_model)
    asks = ranker.score("Is there a specific strategy of self-supervised learning in the glossary?", found, names=names)
    plain = ranker.score("Does the glossary have a specific strategy of self-supervised learning?", found, names=names)
    assert abs((asks[0] - asks[1]) - (plain[0] - plain[1])) < 0.1


@pytest.mark.parametrize(("question", "entry"), [
    ("Which loss function is used to learn embedding spaces?", "triplet-loss"),
    ("Is there a training trick made specifically for recurrent neural networks?", "teacher-forcing"),
    ("Is there a specific strategy of self-supervised learning in the glossary?", "contrastive-learning"),
    ("Which part turns the compact representation back into data (about Encoder)?", "decoder"),
    ("A GAN can sample faces without scoring them. What does the glossary call models that sample without an explicit "
     "likelihood?", "implicit-models"),
])
def test_a_question_asking_for_another_entry_is_answered_by_that_entry(assistant, fake, question, entry):
    """The named entry is the context: the answer comes from the entry that fits the question's other words."""
    answer = assistant.ask(question)
    assert not answer.refused and answer.citations and {c.entry_id for c in answer.citations} == {entry}, answer.text


@pytest.mark.parametrize(("question", "asks"), [
    ("Which loss function is used to learn embedding spaces?", True),
    ("which dataset does the article say is commonly used to train those models?", True),
    ("What technique does LoRA use?", False),  # what LoRA itself uses: its own entry may answer
    ("Which architecture is behind GPT-3?", False),
    ("and which part turns that into the output sentence (about Encoder)?", True),  # another part than the encoder
    ("What part does training data play in it?", False),  # the role of something, no other entry
    # a term for what is described
    ("A GAN can't score faces. What does the glossary call models that sample without a likelihood?", True),
    ("Which glossary entry covers measuring how unsure a detector is?", True),
    ("What idea is GAN built on?", False),
])
def test_questions_asking_for_another_entry(question, asks):
    from assistant.relevance import ASKS_FOR_ANOTHER

    assert bool(ASKS_FOR_ANOTHER.search(question)) is asks


def test_a_why_question_gets_the_sentence_after_the_one_that_only_states_what_is_asked():
    """"Why ... counterintuitive?": the sentence that says so only restates the question; the next one explains.
    A sentence that gives the reason itself, or a question asking no why or how, takes nothing after it."""
    from assistant.relevance import explained_after

    text = " ".join([DIFFUSION[0], "They first take a clean sample and gradually destroy it by adding noise.", DIFFUSION[2],
                     DIFFUSION[1]])
    passage = Passage(entry_id="diffusion-models", title="Diffusion models", kind="section", text=text, score=1.0,
                      source="article", section="Diffusion models", node_id="diffusion-models")
    states = Candidate(1, 0, DIFFUSION[0], "diffusion-models", "Diffusion models")
    after = explained_after("Why does the article call diffusion models counterintuitive?", states, passage)
    assert after is not None and "destroy it by adding noise" in after.sentence
    gives = Candidate(1, 2, DIFFUSION[2], "diffusion-models", "Diffusion models")
    assert explained_after("Why are diffusion results realistic?", gives, passage) is None  # "because": it says why
    assert explained_after("What are diffusion models?", states, passage) is None


def test_an_aside_after_the_sentence_that_only_states_it_goes_on_when_it_carries_on_the_thought():
    """"Why ... a 'creativity engine'?": "It’s like a hidden source of inspiration ..." says why; an analogy that
    starts afresh ("Analogy: ...") does not carry on the sentence before it."""
    from assistant.relevance import explained_after

    first = "You can think of latent space as a kind of “creativity engine” inside these generative AI models."
    for after, kept in (("It’s like a hidden source of inspiration where new ideas are born.", True),
                        ("Analogy: Latent space is like a library of every book that could be written.", False)):
        passage = Passage(entry_id="latent-space", title="Latent Space", kind="concept", text=f"{first} {after}",
                          score=1.0, source="article", section="Generative AI Concepts", node_id="latent-space")
        best = Candidate(1, 0, first, "latent-space", "Latent Space")
        found = explained_after("Why would anyone describe latent space as a 'creativity engine'?", best, passage)
        assert (found is not None and found.sentence == after) is kept, after


CLOSING = [  # the article's closing paragraph
    "Generative AI stands at the forefront of technological innovation, pushing the boundaries of what is possible in "
    "terms of creativity and problem-solving.",
    "As researchers continue to refine and advance generative models, we can expect even more remarkable applications "
    "that will shape the future of various industries.",
    "The journey into the world of Generative AI is both awe-inspiring and thought-provoking, urging us to embrace the "
    "power of artificial intelligence responsibly and with a keen understanding of its potential impact on society.",
]


def test_what_the_whole_material_is_about_does_not_pick_the_sentence(embed_model):
    """Every sentence that says "Generative AI" looks close to a question that says it too; left out like a
    subject's name, the question asks where the field is heading, which the second sentence answers."""
    question = "Where does the article think generative AI is heading as research continues?"
    found = [Candidate(1, i, s, "challenges", "Challenges and Ethical Considerations") for i, s in enumerate(CLOSING)]
    ranker = SentenceRanker(embed_model)
    plain = ranker.score(question, found)
    material = ranker.score(question, found, material="Generative AI")
    assert max(zip(plain, CLOSING, strict=True))[1] != CLOSING[1]  # the behaviour this guards against
    assert max(zip(material, CLOSING, strict=True))[1] == CLOSING[1]


def test_the_material_subject_is_its_opening_sections_title(assistant):
    assert assistant.snapshot.subject() == "Generative AI"


def test_where_a_technique_is_useful_is_answered_by_the_sentence_that_says_where(embed_model):
    """"useful" is a field word, yet with the name left out it is what the question asks about."""
    sentences = ["Counterfactual Generations: This involves generating data that shows what could happen under "
                 "alternative scenarios.",
                 "It’s useful for “what if” analyses in fields like economics, healthcare, and policy-making."]
    scores = _rank(embed_model, "Where is Counterfactual Generations useful?", sentences,
                   ("counterfactual-generations", "Counterfactual Generations"), ["counterfactual generations"])
    assert scores[1] > scores[0]


def _say_nothing(body: dict) -> str:
    return "I am not sure."


def test_an_entry_named_only_as_an_example_does_not_decide_which_sentences_answer(assistant, fake):
    """Stable Diffusion is an example of the diffusion-based systems asked about: the sentence saying why their
    results look realistic answers, though it does not name Stable Diffusion."""
    fake.set_mode("ok", reply_fn=_say_nothing)
    answer = assistant.ask("Why can pictures from diffusion-based systems such as Stable Diffusion look so realistic?")
    assert "deeply understands all the steps" in answer.text


def test_a_question_asking_for_examples_prefers_the_sentence_naming_some_like_this(embed_model):
    """"a model like GPT or DALL-E" gives examples as plainly as "for example" does."""
    sentences = ["Transfer learning allows a model trained on one task to apply its knowledge to a different but related "
                 "task.",
                 "In generative AI, this means a model like GPT or DALL-E, initially trained on a vast dataset, can adapt to "
                 "generate content in a specific style or domain with minimal additional data."]
    from assistant.relevance import MARGIN

    scores = _rank(embed_model, "Which models does the transfer-learning section give as examples?", sentences,
                   ("transfer-learning-in-generative-ai", "Transfer Learning in Generative AI"), [])
    assert scores[1] >= max(scores) - MARGIN  # close enough to the best to be in the answer


@pytest.mark.parametrize("reply", [_say_nothing, _copy_first_sentence])
def test_a_question_about_each_of_two_entries_is_answered_on_both(assistant, fake, reply):
    """"... both push a model toward what I want. How does the article describe each?": a sentence of each entry,
    whether the model's answer is kept (it copies one) or the answer is extractive (it says nothing usable)."""
    fake.set_mode("ok", reply_fn=reply)
    answer = assistant.ask("Reinforcement learning for generation and controlled generation both push a model toward "
                           "what I want. How does the article describe each way of doing it?")
    assert {"reinforcement-learning-for-generation", "controlled-generation"} <= {c.entry_id for c in answer.citations}
