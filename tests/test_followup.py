"""followup.condense: deterministic rewriting of follow-ups into standalone queries (pure, no index)."""

from __future__ import annotations

import pytest

from assistant.followup import condense, coordinated
from assistant.retrieval import NameIndex

NAMES = NameIndex({"whisper": ["Whisper"], "stylegan": ["StyleGAN"], "gpt3": ["GPT-3", "GPT 3"], "gan": ["GAN", "GANs"]})
TITLES = {"whisper": "Whisper", "stylegan": "StyleGAN", "gpt3": "GPT-3", "gan": "Generative Adversarial Networks"}
CREATORS = {"whisper": "OpenAI", "stylegan": "NVIDIA", "gpt3": "OpenAI"}
WHISPER = [("user", "Tell me about Whisper."), ("assistant", "Whisper turns speech into text.")]


def ask(question: str, history=WHISPER) -> str:
    return condense(question, history, NAMES, TITLES, CREATORS)


@pytest.mark.parametrize(("question", "expected"), [
    ("Who created it?", "Who created Whisper?"),
    ("What does it generate?", "What does Whisper generate?"),
    ("What is its output?", "What is Whisper's output?"),
    # a bare "that" after a contracted "is"
    ("how's that different from a plain speech model?", "how's Whisper different from a plain speech model?"),
    # "that kind of network" is one reference
    ("can that kind of network make music?", "can Whisper make music?"),
])
def test_pronoun_is_replaced_by_the_subject(question, expected):
    assert ask(question) == expected


@pytest.mark.parametrize(("question", "expected"), [
    ("What else did that company make?", "What else did OpenAI make?"),
    ("Which other models come from the same lab?", "Which other models come from OpenAI?"),
    ("Where is that company's headquarters?", "Where is OpenAI's headquarters?"),
])
def test_that_company_becomes_the_subjects_creator(question, expected):
    assert ask(question) == expected


def test_the_same_company_as_another_entry_compares_with_it():
    """"not from the same company as StyleGAN?" compares the subject's maker with StyleGAN's: no creator put in."""
    assert ask("it's not from the same company as StyleGAN?") == "Whisper's not from the same company as StyleGAN?"


def test_that_same_creator_is_the_subjects_creator():
    assert ask("which other rows carry that same creator label?") == "which other rows carry OpenAI label?"


def test_company_reference_without_known_creator_falls_back_to_the_subject():
    history = [("user", "What are GANs?")]
    assert ask("Who was behind that company?", history) == "Who was behind that company (about Generative Adversarial Networks)?"


@pytest.mark.parametrize("history", [None, []])
def test_no_history_leaves_the_question_unchanged(history):
    assert ask("Who created it?", history) == "Who created it?"


@pytest.mark.parametrize("question", ["Who created StyleGAN?", "Which models did NVIDIA create?", "What does GPT-3 generate?"])
def test_question_naming_an_entry_is_unchanged(question):
    assert ask(question) == question


@pytest.mark.parametrize(("question", "expected"), [
    ("What about StyleGAN?", "Tell me about StyleGAN."),
    ("And GPT-3?", "Tell me about GPT-3."),
])
def test_elliptical_switch_asks_the_previous_question_about_the_new_entry(question, expected):
    assert ask(question) == expected
    who = [("user", "Who created Whisper?"), ("assistant", "Whisper was created by OpenAI [1].")]
    assert ask("What about StyleGAN?", who) == "Who created StyleGAN?"


def test_question_naming_an_entry_but_pointing_back_gets_the_subject():
    assert ask("How does StyleGAN compare to that?") == "How does StyleGAN compare to Whisper?"


def test_question_about_the_subject_itself_is_unchanged():
    assert ask("Does Whisper use it?") == "Does Whisper use it?"


@pytest.mark.parametrize("question", ["How is training done?", "What is the capital of France?",
                                      "Which models were created by DeepMind?", "What are the risks of deepfakes?",
                                      "What do you call it when a model learns from one example?",
                                      # "VS Code" is no "versus": the question compares nothing with the subject
                                      "Does StyleGAN keep working in VS Code when I have no internet connection?",
                                      # "its" is the model the question asks for
                                      "Does Microsoft have a text model in the table with 'Turing' in its name?"])
def test_a_standalone_question_is_never_rewritten(question):
    assert ask(question) == question


@pytest.mark.parametrize(("question", "expected"), [
    ("And the creator?", "Who created Whisper?"),
    ("and whose is that?", "Who created Whisper?"),  # whose it is: who made it
    ("Output type according to the table?", "What does Whisper generate?"),  # a field with filler
    ("Generates what, exactly?", "What does Whisper generate?"),
    ("what does the acronym stand for", "What does Whisper stand for?"),
    ("What about its output?", "What does Whisper generate?"),
    ("Why?", "Why (about Whisper)?"),
    ("why bother?", "why bother (about Whisper)?"),
    ("why would anyone bother?", "why would anyone bother (about Whisper)?"),  # the same, with a subject of its own
    # the plural noun is the object of "does": "its" is the subject's
    ("which niche areas does its example mention?", "which niche areas does Whisper's example mention?"),
    # a question that opens with "and" goes on about the subject, however long
    ("and which spoken languages end up being transcribed the best?",
     "and which spoken languages end up being transcribed the best (about Whisper)?"),
    ("How is this model trained?", "How is Whisper trained?"),
    ("Who made that?", "Who made Whisper?"),
    # a request to go on, in other words; "that setup" points back like "this model"
    ("can you walk me through an example?", "can you walk me through an example (about Whisper)?"),
    ("which part plays the critic in that setup?", "which part plays the critic in Whisper?"),
    # a bare "that" after "in" at the end; "in that case" is no such reference
    ("what part does training data play in that?", "what part does training data play in Whisper?"),
    ("In that case, how is it trained?", "In that case, how is Whisper trained?"),
])
def test_real_follow_ups_are_rewritten(question, expected):
    assert ask(question) == expected


@pytest.mark.parametrize("question", [
    "Totally unrelated: how long should a steak rest after it comes off the grill?",
    "Different topic - what does it cost to run a GPU?",
    "Separate thing: how long does it take to learn to juggle?",  # any "different / separate / new thing, matter ..."
    "New matter, unrelated to that: how is it priced?",
    "StyleGAN: is that an image model too, and whose is it?",  # the lead-in names what "that" is
])
def test_a_message_that_opens_a_new_topic_is_not_rewritten(question):
    assert ask(question) == question


def test_a_term_the_material_does_not_name_is_the_subject_too():
    history = [("user", "What is mode collapse?"), ("assistant", "Mode collapse is ... [1].")]
    assert ask("How can it be reduced?", history) == "How can mode collapse be reduced?"


def test_no_entry_in_history_leaves_the_question_unchanged():
    history = [("user", "Hello there"), ("assistant", "Hi! Ask me about generative AI.")]
    assert ask("Who created it?", history) == "Who created it?"


def test_latest_user_turn_wins_over_assistant_turns():
    history = [("user", "Tell me about GPT-3."), ("assistant", "..."), ("user", "And StyleGAN?"),
               ("assistant", "StyleGAN is like Whisper in no way.")]
    assert ask("Who created it?", history) == "Who created StyleGAN?"


def test_assistant_turn_used_when_user_turns_name_nothing():
    history = [("user", "Name a speech model."), ("assistant", "Whisper is one.")]
    assert ask("Who created it?", history) == "Who created Whisper?"


def test_they_who_make_things_are_the_creator_of_a_model_asked_about():
    history = [("user", "Who created StyleGAN?"), ("assistant", "StyleGAN was created by NVIDIA; it generates image [1].")]
    assert ask("What else did they create?", history) == "What else did NVIDIA create?"
    assert ask("What does it generate?", history) == "What does StyleGAN generate?"


def test_the_named_version_of_the_subject_is_that_entry():
    """"The IO version" of Perceiver is the entry Perceiver IO; a version the material has no entry for
    keeps the subject attached."""
    names = NameIndex({"perceiver": ["Perceiver"], "perceiver-io": ["Perceiver IO"]})
    titles = {"perceiver": "Perceiver", "perceiver-io": "Perceiver IO"}
    history = [("user", "Who created Perceiver?"), ("assistant", "Perceiver was created by DeepMind [1].")]
    assert condense("What does the IO version generate?", history, names, titles) == "What does Perceiver IO generate?"
    assert condense("What does the new version generate?", history, names, titles) == \
        "What does the new version generate (about Perceiver)?"


def test_the_named_kind_of_the_subject_is_that_entry():
    """ "and the negative kind?" after Prompt is Negative Prompt; a kind the material has no entry for is not."""
    names = NameIndex({"prompt": ["Prompt"], "negative-prompt": ["Negative Prompt"]})
    titles = {"prompt": "Prompt", "negative-prompt": "Negative Prompt"}
    history = [("user", "What is a prompt?"), ("assistant", "Prompt: A text input that guides a generative model [1].")]
    assert "Negative Prompt" in condense("and the negative kind?", history, names, titles)
    assert condense("What does the negative kind do?", history, names, titles) == "What does Negative Prompt do?"
    assert "Negative Prompt" not in condense("and the positive kind?", history, names, titles)


def test_the_version_for_another_medium_is_that_entry():
    """"the video version" of Image to Image is Video to Video; of Text to Image, Text to Video."""
    names = NameIndex({"i2i": ["Image to Image"], "v2v": ["Video to Video"], "t2i": ["Text to Image"], "t2v": ["Text to Video"]})
    titles = {"i2i": "Image to Image", "v2v": "Video to Video", "t2i": "Text to Image", "t2v": "Text to Video"}
    image = [("user", "What is image-to-image generation?"), ("assistant", "Image to Image: A process where ... [1]")]
    assert condense("and the video version?", image, names, titles) == "What is Video to Video generation?"
    text = [("user", "What is Text to Image?"), ("assistant", "Text to Image: A technique ... [1]")]
    assert condense("What about the video version?", text, names, titles) == "What is Text to Video?"


def test_a_name_shared_by_a_model_row_and_prose_follows_what_was_asked():
    """"Transformer" names the model row and the section "Transformers": after "who made it" the subject
    is the row (its creator answers "that group"), after "what is it" the section."""
    names = NameIndex({"transformer": ["Transformer"], "transformers": ["Transformers"]},
                      kinds={"transformer": "model", "transformers": "section"})
    titles = {"transformer": "Transformer", "transformers": "Transformers"}
    creators = {"transformer": "Google Brain"}
    asked_row = [("user", "Who created the Transformer?"), ("assistant", "Google Brain [1].")]
    assert condense("Which other models come from that group?", asked_row, names, titles, creators) == \
        "Which other models come from Google Brain?"
    asked_prose = [("user", "What is a transformer?"), ("assistant", "A neural network architecture [1].")]
    assert condense("Why has it become so central?", asked_prose, names, titles, creators) == \
        "Why has Transformers become so central?"


@pytest.mark.parametrize(("question", "expected"), [
    ("What are the two phases?", "What are the two phases (about Whisper)?"),  # a definite plural that refers back
    ("Can you give an example?", "Can you give an example (about Whisper)?"),  # a request with no object
    ("Could you elaborate?", "Could you elaborate (about Whisper)?"),
    ("Any concrete use case?", "Any concrete use case (about Whisper)?"),  # "Any ...?" asking for a side of it
    ("And any drawbacks?", "And any drawbacks (about Whisper)?"),
])
def test_references_without_a_pronoun_are_follow_ups(question, expected):
    assert ask(question) == expected


def test_which_of_those_narrows_the_previous_list():
    history = [("user", "Which models did NVIDIA create?"), ("assistant", "StyleGAN [1], ...")]
    assert ask("Which of those generate images?", history) == "Which models did NVIDIA create that generate images?"
    # after a question that listed nothing, "those" is the subject as usual
    assert ask("Which of those generate images?") != "Tell me about Whisper that generate images?"


@pytest.mark.parametrize("question", [
    "What are deepfakes and why are they a concern?",
    "How does pruning work, and why is it useful?",
])
def test_a_pronoun_after_the_questions_own_topic_refers_to_it(question):
    assert ask(question) == question


@pytest.mark.parametrize("question", [
    "Is there a training technique where some words are hidden and the model has to guess them?",  # an indefinite plural
    "Which entry in the table has a Greek letter in its name, and whose is it?",  # the asked subject of "has"
    "What about getting text out of speech recordings, which rows do that?",  # the activity it leads with
    # the thing an activity is done to, named just before
    "Is there another glossary method that gets a smaller model by training it to imitate a big one?",
])
def test_a_pronoun_whose_antecedent_the_question_introduces_refers_to_it(question):
    assert ask(question) == question


@pytest.mark.parametrize(("question", "expected"), [
    ("What does the article compare its networks to?", "What does the article compare Whisper's networks to?"),
    ("Which models use its architecture?", "Which models use Whisper's architecture?"),
    ("any other rows from them that make images?", "any other rows from OpenAI that make images?"),  # its makers
])
def test_a_pronoun_the_question_gives_nothing_for_still_refers_back(question, expected):
    assert ask(question) == expected


def test_a_comparison_naming_one_side_compares_with_the_subject():
    history = [("user", "What is a GAN?"), ("assistant", "Generative Adversarial Networks ... [1].")]
    assert ask("So what's the difference from Whisper?", history) == \
        "So what's the difference from Whisper (about Generative Adversarial Networks)?"
    assert ask("How is StyleGAN different from GPT-3?", history) == "How is StyleGAN different from GPT-3?"  # both sides
    assert ask("same maker as StyleGAN?", history) == "same maker as StyleGAN (about Generative Adversarial Networks)?"
    # the other side left unsaid at the end
    assert ask("And how is StyleGAN different?", history) == \
        "And how is StyleGAN different (about Generative Adversarial Networks)?"


def test_a_fragment_that_is_a_list_question_of_its_own_is_left_alone():
    assert ask("What about image classification models?") == "What about image classification models?"
    assert ask("Give an example.") == "Give an example (about Whisper)?"


def test_comparing_things_of_its_own_is_no_one_sided_comparison():
    history = [("user", "What is a GAN?"), ("assistant", "Generative Adversarial Networks ... [1].")]
    assert ask("How is Whisper used to compare two recordings?", history) == "How is Whisper used to compare two recordings?"


def test_they_after_a_question_naming_two_entries_is_both():
    history = [("user", "What are StyleGAN and Whisper?"), ("assistant", "StyleGAN ... [1]. Whisper ... [2].")]
    assert ask("How do they differ?", history) == "How do StyleGAN and Whisper differ?"


def test_who_made_it_after_prose_sharing_a_rows_name_asks_about_the_row():
    names = NameIndex({"transformer": ["Transformer"], "transformers": ["Transformers"]},
                      kinds={"transformer": "model", "transformers": "section"})
    titles = {"transformer": "Transformer", "transformers": "Transformers"}
    history = [("user", "What is the transformer?"), ("assistant", "A neural network architecture [1].")]
    assert condense("Which lab built it?", history, names, titles, {"transformer": "Google Brain"}) == \
        "Which lab built Transformer?"
    assert condense("How does it use attention?", history, names, titles) == "How does Transformers use attention?"


def test_who_made_it_after_prose_whose_title_names_a_model_asks_about_that_row():
    names = NameIndex({"lora": ["LoRA"], "lora-pt": ["LoRA and Prompt Tuning"]},
                      kinds={"lora": "model", "lora-pt": "section"})
    titles = {"lora": "LoRA", "lora-pt": "LoRA and Prompt Tuning"}
    history = [("user", "How can I adapt a big model cheaply?"),
               ("assistant", "LoRA and Prompt Tuning are efficient methods [1].")]
    assert condense("Who does the table say made it?", history, names, titles) == "Who does the table say made LoRA?"
    assert condense("How does it work?", history, names, titles) == "How does LoRA and Prompt Tuning work?"


def test_a_bare_that_after_a_verb_points_back():
    history = [("user", "What is conditional generation?"), ("assistant", "It gives the system a starting point [1].")]
    names = NameIndex({"cg": ["Conditional Generation"]})
    assert condense("Why would you want that?", history, names, {"cg": "Conditional Generation"}) == \
        "Why would you want Conditional Generation?"


def test_a_switch_keeps_one_article():
    history = [("user", "What is a GAN?"), ("assistant", "Generative Adversarial Networks ... [1].")]
    names = NameIndex({"gan": ["GAN"], "vae": ["VAE"]})
    assert condense("And a VAE?", history, names, {"gan": "GAN", "vae": "VAE"}) == "What is a VAE?"


DISTIL = [("user", "What is knowledge distillation?"),
          ("assistant", "Knowledge Distillation is a method where a smaller, more efficient model is trained to replicate "
                        "the behavior of a larger, pre-trained model [1].")]
FORGER = [("user", "What does the article say about GANs?"),
          ("assistant", "It’s like having an art forger (generator) and an art expert (discriminator) going head-to-head [1].")]


@pytest.mark.parametrize(("question", "history", "expected"), [
    # a definite phrase that only the last answer explains
    ("Why bother training the small model at all?", DISTIL,
     "Why bother training the small model at all (about knowledge distillation)?"),
    ("What is the forger's goal?", FORGER, "What is the forger's goal (about Generative Adversarial Networks)?"),
    # one of the article's comparisons, named in the user's own words ("chef" is what the answer says)
    ("what's the cooking comparison about?", DISTIL, "what's the cooking comparison about (about knowledge distillation)?"),
    ("And the painting analogy?", DISTIL, "And the painting analogy (about knowledge distillation)?"),
    # the last word may be the verb: "the small model" in "... does the small model learn?"
    ("when does the small model learn?", DISTIL, "when does the small model learn (about knowledge distillation)?"),
    # "the example" the last answer gave
    ("What does the example show?", [("user", "What is a GAN?"), ("assistant", "Example: a GAN makes faces [1].")],
     "What does the example show (about Generative Adversarial Networks)?"),
    # a bare abstract noun
    ("How does the generative AI section apply the idea?", WHISPER,
     "How does the generative AI section apply the idea (about Whisper)?"),
])
def test_a_definite_phrase_explained_by_the_last_answer_is_a_follow_up(question, history, expected):
    assert ask(question, history) == expected


@pytest.mark.parametrize("question", [
    "What is the capital of France?",  # nothing in the last exchange
    "Which models in the table come from OpenAI?",  # about the material itself, and a list question
    "What are the models that generate text?",  # common words only
    "What is the idea behind StyleGAN?",  # names its own subject
    "What is the approach of contrastive learning?",
    "What does the orchestra conductor comparison in the article illustrate?",  # says where it is: a question of its own
    "How is the smaller student in RLHF trained?",  # only the last word of a question may be its verb
])
def test_a_definite_phrase_of_its_own_is_no_follow_up(question):
    assert ask(question, DISTIL) == question


def test_a_definite_phrase_from_the_last_question_or_a_refusal_is_no_follow_up():
    france = [("user", "What is the capital of France?"),
              ("assistant", "I can't answer that from the material: searched the knowledge base for “What is the capital "
                            "of France?” and found nothing that answers it.")]
    assert ask("What is the capital of Germany?", france) == "What is the capital of Germany?"


def test_one_standing_for_the_subject_is_a_follow_up():
    assert ask("What is the decoder's job in one?") == "What is the decoder's job in one (about Whisper)?"
    assert ask("Is there one for video as well?", None) == "Is there one for video as well?"


def test_the_creator_of_a_named_entry_is_no_reference_back():
    question = "Who is the creator of StyleGAN according to the table?"
    assert ask(question) == question
    assert ask("What else did the creator make?") == "What else did OpenAI make?"


SPEECH = [("user", "Which entries in the table produce speech?"),
          ("assistant", "The article's model table lists 2 models that generate speech:\n"
                        "- FastSpeech — creator: Microsoft — generates: Speech [1]\n"
                        "- Tacotron — creator: Google — generates: Speech [2]")]
ORDINAL_NAMES = NameIndex({"fastspeech": ["FastSpeech"], "tacotron": ["Tacotron"], "vae": ["VAE", "VAEs"],
                           "gan": ["GAN", "GANs"]})


@pytest.mark.parametrize(("question", "history", "expected"), [
    ("Who made the second one?", SPEECH, "Who made Tacotron?"),
    ("What does the last model generate?", SPEECH, "What does Tacotron generate?"),
    # the same question again about another item of the list
    ("And the first one?", [*SPEECH, ("user", "Who made the second one?"), ("assistant", "Tacotron was created by Google [1].")],
     "Who made FastSpeech?"),
    # "it" is still the subject when an ordinal names the other item
    ("Is it any different from the first one?",
     [*SPEECH, ("user", "Who made the second one?"), ("assistant", "Tacotron was created by Google [1].")],
     "Is Tacotron any different from FastSpeech?"),
    # the two entries the last question compared
    ("Tell me more about the latter.", [("user", "How does a VAE differ from a GAN?"), ("assistant", "A VAE encodes [1].")],
     "Tell me more about GAN."),
])
def test_an_ordinal_names_an_item_of_the_last_list(question, history, expected):
    assert condense(question, history, ORDINAL_NAMES, ORDINAL_NAMES.titles_by_entry) == expected


GAMES = [("user", "What else from DeepMind is about playing games?"),
         ("assistant", "The article's model table lists 2 models that generate game and were created by DeepMind:\n"
                       "- AlphaGo — creator: DeepMind — generates: Game Play [1]\n"
                       "- AlphaStar — creator: DeepMind — generates: Real-time Strategy Game Play [2]")]
GAME_NAMES = NameIndex({"alphago": ["AlphaGo"], "alphastar": ["AlphaStar"], "openai-five": ["OpenAI Five"]})


@pytest.mark.parametrize(("question", "history", "expected"), [
    # "those two" / "both of them": both items of a list of two
    ("Are those two actually different models?", SPEECH, "Are FastSpeech and Tacotron actually different models?"),
    ("Do both of them come from Microsoft?", SPEECH, "Do FastSpeech and Tacotron come from Microsoft?"),
    ("were the two trained on the same data?", SPEECH, "were FastSpeech and Tacotron trained on the same data?"),
    ("did the two come out the same year?", SPEECH, "did FastSpeech and Tacotron come out the same year?"),
    ("same lab for both?", SPEECH, "same lab for FastSpeech and Tacotron?"),
    ("which of the two fits a phone app?", SPEECH, "which of FastSpeech and Tacotron fits a phone app?"),
    # two things that are no entries ("the two settings" a definition names) are no pair of the list
    ("what names does it give the two settings?", SPEECH, "what names does FastSpeech give the two settings?"),
    # "the <words> one": the listed row whose line holds the words
    ("Did OpenAI have a rival to the real-time strategy one?", GAMES, "Did OpenAI have a rival to AlphaStar?"),
    ("Who made the Google one?", SPEECH, "Who made Tacotron?"),
])
def test_a_pair_or_a_described_item_of_the_last_list(question, history, expected):
    names = GAME_NAMES if history is GAMES else ORDINAL_NAMES
    assert condense(question, history, names, names.titles_by_entry) == expected


def test_a_row_of_the_last_list_named_before_its_pronoun_is_what_the_pronoun_means():
    """ "What does the table list the Tacotron row as producing, and whose is it?": "it" is Tacotron, not the list's first."""
    question = "What does the table list the Tacotron row as producing, and whose is it?"
    assert condense(question, SPEECH, ORDINAL_NAMES, ORDINAL_NAMES.titles_by_entry) == \
        "What does the table list Tacotron as producing, and whose is it?"


@pytest.mark.parametrize("question", [
    "Is there also a glossary entry for taking a model trained in one setting and making it work in a related one?",
    "Is there a concept for restyling a clip I already have, say making it look like claymation?",
    "Which row in the table evaluates text rather than generating it?",  # the object of the verb set against
    "ok, and once I've got the picture, can AI make it bigger and crisper?",  # what a clause put first named
])
def test_a_pronoun_for_what_an_activity_was_done_to_refers_to_nothing_before(question):
    assert ask(question) == question


def test_a_hyphenated_name_leading_the_question_is_what_its_pointer_means():
    names = NameIndex({"turing-nlg": ["Turing-NLG"], "t-nlg": ["T-NLG"]})
    history = [("user", "Is Turing-NLG in the model table?"), ("assistant", "Turing-NLG was created by Microsoft [1].")]
    question = "and the T-NLG row further down, who's that from?"
    assert condense(question, history, names, names.titles_by_entry) == question


@pytest.mark.parametrize(("question", "expected"), [
    ("what's the analogy?", "what's the analogy (about Whisper)?"),  # the subject's own analogy or example
    ("what's the caption example?", "what's the caption example (about Whisper)?"),
    ("what's the analogy the article gives?", "what's the analogy the article gives (about Whisper)?"),
    ("what exactly gets less precise there?", "what exactly gets less precise there (about Whisper)?"),  # "there"
    ("Is there?", "Is there?"),  # ... not "is there"
    # the relative "that" of a clause is no pointer; "that focus" is
    ("what else did they make that plays games?", "what else did Whisper make that plays games?"),
    # another one than the subject, when the question names no entry of its own
    ("is there any other loss function in the glossary?", "is there any other loss function in the glossary (about Whisper)?"),
    ("What's another name for GANs?", "What's another name for GANs?"),
])
def test_the_analogy_the_example_and_there_refer_to_the_subject(question, expected):
    assert ask(question) == expected


def test_the_example_of_a_row_the_subjects_example_names_is_the_subjects():
    """"and the DALL-E example?" after classifier guidance, whose example is about DALL-E: the subject's example. A
    concept's analogy is its own ("what's the GAN analogy?" asks about GANs)."""
    names = NameIndex({"guidance": ["Classifier Guidance"], "dalle": ["DALL-E"], "gan": ["GAN", "GANs"]},
                      kinds={"guidance": "section", "dalle": "model", "gan": "glossary"})
    history = [("user", "What is classifier guidance?"), ("assistant", "Classifier Guidance steers a diffusion model [1].")]
    titles = {"guidance": "Classifier Guidance", "dalle": "DALL-E", "gan": "GANs"}
    assert condense("and the DALL-E example?", history, names, titles) == "and the DALL-E example (about Classifier Guidance)?"
    assert condense("what's the GAN analogy?", history, names, titles) == "what's the GAN analogy?"


def test_a_named_entry_asked_if_of_the_same_maker_is_compared_with_the_subject():
    history = [("user", "Who made StyleGAN?"), ("assistant", "StyleGAN was created by NVIDIA [1].")]
    assert ask("and GPT-3, same lab?", history) == "and GPT-3, same lab (about StyleGAN)?"


def test_the_one_described_by_a_word_of_its_title_among_the_entries_just_compared():
    """ "the video one" after a question comparing Image to Image with Video to Video is Video to Video."""
    names = NameIndex({"image-to-image": ["Image to Image"], "video-to-video": ["Video to Video"]})
    history = [("user", "How do Image to Image and Video to Video differ?"),
               ("assistant", "Image to Image takes an image [1]. Video to Video takes a video [2].")]
    assert condense("what changes does the video one make?", history, names, names.titles_by_entry) == \
        "what changes does Video to Video make?"
    # in everyday words: "the picture one" is Image to Image
    assert condense("can the picture one do style transfers?", history, names, names.titles_by_entry) == \
        "can Image to Image do style transfers?"


def test_a_refusals_closest_entries_are_no_list():
    refused = [("user", "Which rows turn spoken audio into written text?"),
               ("assistant", "I can't answer that from the material: searched the knowledge base for “...” and found "
                             "nothing that answers it. The closest entries are: ESPnet, WaveNet.")]
    rows = NameIndex({"espnet": ["ESPnet"], "wavenet": ["WaveNet"]}, kinds={"espnet": "model", "wavenet": "model"})
    assert condense("Who made the second one?", refused, rows, {}) == "Who made the second one?"


def test_an_ordinal_without_such_an_item_is_no_item():
    assert "the fifth one" in condense("Who made the fifth one?", SPEECH, ORDINAL_NAMES, {})  # the list has two
    diffusion = [("user", "What is a GAN?"), ("assistant", "A GAN has two networks [1].")]
    assert condense("What happens in the first phase?", diffusion, ORDINAL_NAMES, {"gan": "GAN"}) \
        == "What happens in the first phase (about GAN)?"


def test_the_subject_of_a_turn_that_used_an_ordinal_is_that_item():
    history = [("user", "How does a VAE differ from a GAN?"), ("assistant", "A VAE encodes [1]."),
               ("user", "Tell me more about the latter."), ("assistant", "It has two networks [1].")]
    assert condense("What does the article compare its networks to?", history, ORDINAL_NAMES,
                    ORDINAL_NAMES.titles_by_entry) == "What does the article compare GAN's networks to?"


@pytest.mark.parametrize("question", ["In what way?", "Such as?", "Like what?", "How come?", "What for?", "So what's the point?",
                                      "Can you simplify?", "More details please.", "What do you mean?", "For example?"])
def test_a_bare_conversational_fragment_is_a_follow_up(question):
    assert ask(question) == f"{question.rstrip(' ?.')} (about Whisper)?"


def test_an_ordinal_after_an_answer_naming_models_in_prose_is_that_model():
    names = NameIndex({"gpt3": ["GPT-3"], "dalle": ["DALL-E"], "transformer": ["Transformer"], "transformers": ["Transformers"]},
                      kinds={"gpt3": "model", "dalle": "model", "transformer": "model", "transformers": "section"})
    titles = {"gpt3": "GPT-3", "dalle": "DALL-E", "transformer": "Transformer", "transformers": "Transformers"}
    history = [("user", "Which well-known models are built on transformers?"),
               ("assistant", "Text models like GPT-3 as well as image models like DALL-E 2 leverage transformers [1].")]
    assert condense("Who made the first one?", history, names, titles) == "Who made GPT-3?"
    assert condense("What does the latter generate?", history, names, titles) == "What does DALL-E generate?"


def test_an_ordinal_after_a_question_naming_entries_the_answer_does_not_is_the_answers_item():
    """ "which model families does it call popular?" names Generative Models by its words; the answer lists
    three other entries: "the second one" is the second of those, each named in full."""
    names = NameIndex({"models": ["Generative Models", "model families"], "gan": ["Generative Adversarial Networks", "GANs"],
                       "vae": ["Variational Autoencoders", "VAEs"], "transformer": ["Transformer"]})
    titles = {"models": "Generative Models", "gan": "Generative Adversarial Networks (GANs)",
              "vae": "Variational Autoencoders (VAEs)", "transformer": "Transformer"}
    history = [("user", "which model families does it call popular?"),
               ("assistant", "Popular ones include Generative Adversarial Networks (GANs), Variational "
                             "Autoencoders (VAEs), and Transformer-based models like GPT. [1]")]
    assert condense("tell me more about the second one", history, names, titles) == \
        "tell me more about Variational Autoencoders (VAEs)"
    assert condense("and how does the first one work?", history, names, titles) == \
        "and how does Generative Adversarial Networks (GANs) work?"
    # and after "the second one" was asked about, "the first one" is still an item of that list (the same question)
    second = [*history, ("user", "tell me more about the second one"), ("assistant", "Variational Autoencoders (VAEs): ... [1]")]
    assert condense("and the first one?", second, names, titles) == "tell me more about Generative Adversarial Networks (GANs)"


def test_an_ordinal_of_those_points_into_the_list_the_last_answer_made():
    names = NameIndex({"decoder": ["Decoder"], "seq2seq": ["Sequence-to-Sequence Models", "Seq2Seq"]})
    titles = {"decoder": "Decoder", "seq2seq": "Sequence-to-Sequence Models (Seq2Seq)"}
    history = [("user", "What does a decoder do?"),
               ("assistant", "Decoder: Part of a neural network architecture that converts encoded data back into its original "
                             "form or into another format, essential in autoencoders and sequence-to-sequence models. [1]")]
    assert condense("what are the second of those used for?", history, names, titles) == \
        "what are sequence-to-sequence models used for?"
    assert condense("And the first of those?", history, names, titles) == "And autoencoders?"
    assert coordinated("It can create new content, whether it be images, text, music, or even entire virtual worlds [1].") == \
        ["images", "text", "music", "entire virtual worlds"]
    assert coordinated("Popular families include VAEs, GANs and diffusion models [2].") == ["VAEs", "GANs", "diffusion models"]
    assert coordinated("A decoder converts encoded data [1].") == []
    # the answer's last enumeration of entries, though it names another entry first
    names = NameIndex({"diffusion": ["Diffusion models"], "latent": ["Latent Diffusion"], "sd": ["Stable Diffusion"]})
    history = [("user", "which well-known models does it say work like that?"),
               ("assistant", "Diffusion models are a powerful type of generative model [1]. Some of the most powerful "
                             "generative models like Latent Diffusion and Stable Diffusion are based on this approach. [2]")]
    assert condense("how does the first of those differ from working on raw pixels?", history, names,
                    names.titles_by_entry) == "how does Latent Diffusion differ from working on raw pixels?"
    # models asked for, models meant: "those" are the models the answer names, not the architecture it is about
    names = NameIndex({"transformers": ["Transformers"], "gpt3": ["GPT-3"], "dalle": ["DALL-E"]},
                      kinds={"transformers": "section", "gpt3": "model", "dalle": "model"})
    history = [("user", "which well-known models does the article say run on it?"),
               ("assistant", "Transformers drive many generative models [1]. Text models like GPT-3 as well as image "
                             "models like DALL-E 2 leverage transformer architectures [2].")]
    assert condense("who made the first of those?", history, names, names.titles_by_entry) == "who made GPT-3?"


def test_a_follow_up_after_a_follow_up_keeps_the_first_subject():
    names = NameIndex({"adv": ["Adversarial Training"]})
    titles = {"adv": "Adversarial Training"}
    history = [("user", "What is adversarial training?"),
               ("assistant", "Two networks compete: a generator and a discriminator [1]."),
               ("user", "What is the generator's job?"), ("assistant", "The generator's job is to create fakes [1].")]
    assert condense("And the discriminator?", history, names, titles) == "And the discriminator (about Adversarial Training)?"


def test_a_list_question_naming_nothing_leaves_the_row_it_got_as_the_subject():
    names = NameIndex({"fsl": ["Few-Shot Learning"], "luke": ["LUKE"]}, kinds={"fsl": "glossary", "luke": "model"})
    titles = {"fsl": "Few-Shot Learning", "luke": "LUKE"}
    history = [("user", "What is few-shot learning?"), ("assistant", "Learning from very few examples [1]."),
               ("user", "Which model in the table is credited to Studio Ousia?"),
               ("assistant", "The article's model table lists 1 model by Studio Ousia:\n- LUKE — creator: Studio Ousia [1]")]
    assert condense("How many parameters does it have?", history, names, titles) == "How many parameters does LUKE have?"


def test_a_list_question_naming_a_topic_is_about_the_row_it_got():
    """"Which entry in the table is listed for self-supervised learning?" names a glossary term, but its answer is
    the row DINO: "who made it?" asks about DINO."""
    names = NameIndex({"ssl": ["Self-Supervised Learning"], "dino": ["DINO"]}, kinds={"ssl": "glossary", "dino": "model"})
    titles = {"ssl": "Self-Supervised Learning", "dino": "DINO"}
    history = [("user", "Which entry in the table is listed for self-supervised learning?"),
               ("assistant", "The article's model table lists 1 model that generates self-supervised learning:\n"
                             "- DINO — creator: Facebook AI — generates: Self-supervised Learning [1]")]
    assert condense("who made it?", history, names, titles) == "who made DINO?"
    # a question that is no list keeps the entry it named
    history[0] = ("user", "What is self-supervised learning?")
    assert condense("Why is it useful?", history, names, titles) == "Why is Self-Supervised Learning useful?"


def test_a_question_answered_by_a_list_of_rows_is_about_those_rows():
    """The question did not read as a list ("Does any other company have ...?"), but its answer listed rows:
    "that one" is the row it got, not the model asked about before."""
    names = NameIndex({"alphastar": ["AlphaStar"], "five": ["OpenAI Five"]}, kinds={"alphastar": "model", "five": "model"})
    titles = {"alphastar": "AlphaStar", "five": "OpenAI Five"}
    history = [("user", "What does AlphaStar produce?"), ("assistant", "AlphaStar generates real-time strategy game play [1]."),
               ("user", "Does any other company have a model listed for the same thing?"),
               ("assistant", "The article's model table lists 1 model that generates real-time strategy game play:\n"
                             "- OpenAI Five — creator: OpenAI — generates: Real-time Strategy Game Play [1]")]
    assert condense("Who made that one?", history, names, titles) == "Who made OpenAI Five?"


def test_a_named_entry_changing_this_is_compared_with_the_subject():
    names = NameIndex({"dm": ["Diffusion models"], "ld": ["Latent Diffusion"]})
    titles = {"dm": "Diffusion models", "ld": "Latent Diffusion"}
    history = [("user", "What are diffusion models?"), ("assistant", "They learn to undo noise [1].")]
    assert condense("How does latent diffusion change this?", history, names, titles) == \
        "How does latent diffusion change Diffusion models?"


def test_a_refusals_closest_entries_are_no_subject():
    """The refusal lists Whisper as a closest entry, but the user asked about something else."""
    refused = ("I can't answer that from the material: searched the knowledge base for “How do I bake bread?” and found "
               "nothing that answers it. The closest entries are: Whisper.")
    history = [("user", "How do I bake bread?"), ("assistant", refused)]
    assert ask("How long does it take?", history) == "How long does it take?"


def test_a_long_history_costs_no_more_than_the_last_exchanges():
    """Follow-ups after follow-ups are resolved through the earlier turns: that must stay bounded, whatever
    history a client sends (it once grew exponentially: 16 such turns took 5 s)."""
    import time

    names = NameIndex({"adv": ["Adversarial Training"]})
    history = [("user", "What is adversarial training?"), ("assistant", "A generator and a discriminator compete [1].")]
    turn = [("user", "What is the generator's job?"), ("assistant", "The generator's job is to fool it [1].")]
    started = time.perf_counter()
    condensed = condense("And the discriminator?", history + turn * 18, names, {"adv": "Adversarial Training"})
    assert condensed.startswith("And the discriminator (about")
    assert condense("And the discriminator?", history + turn * 2000, names, {"adv": "Adversarial Training"}) == condensed
    assert time.perf_counter() - started < 1.0


def test_the_same_between_two_named_entries_is_no_follow_up():
    """"the same company" compares the two entries the question names, not the last subject."""
    assert ask("Are StyleGAN and GPT-3 from the same company?") == "Are StyleGAN and GPT-3 from the same company?"
    assert ask("Is StyleGAN from the same company?") == "Is StyleGAN from OpenAI?"  # one named: the same as Whisper's


def test_the_same_output_asks_for_the_other_rows_that_generate_it():
    outputs = {"whisper": "Transcribed Text"}
    assert condense("Which other entry has that same output?", WHISPER, NAMES, TITLES, CREATORS, outputs) == \
        "Which models other than Whisper generate Transcribed Text?"
    assert condense("Does any other company have a model that generates the same?", WHISPER, NAMES, TITLES, CREATORS,
                    outputs) == "Which models other than Whisper generate Transcribed Text?"
    # ... said as a job, a task or an output the question points at
    for question in ("any other rows listed for that same job?", "anything else in the table for that task?",
                     "other rows with that output?"):
        assert condense(question, WHISPER, NAMES, TITLES, CREATORS, outputs) == \
            "Which models other than Whisper generate Transcribed Text?", question


def test_a_switch_that_asks_its_own_question_is_left_alone():
    """"they" are the zero-inflated models; "how does it relate" still relates the new name to the subject."""
    names = NameIndex({"pt": ["Prompt Tuning"], "ft": ["Fine-Tuning"], "zim": ["Zero-Inflated Models"]})
    titles = {"pt": "Prompt Tuning", "ft": "Fine-Tuning", "zim": "Zero-Inflated Models"}
    history = [("user", "Explain prompt tuning."), ("assistant", "Prompt Tuning: Fine-tuning a model by its prompts [1].")]
    assert condense("And zero-inflated models — what are they for?", history, names, titles) == \
        "And zero-inflated models — what are they for?"
    assert condense("And fine-tuning, how does it relate?", history, names, titles) == "Explain fine-tuning, how does it relate."


def test_this_same_names_the_subject():
    assert ask("Is this same model used for images?") == "Is Whisper used for images?"


@pytest.mark.parametrize(("question", "standalone"), [
    ("what's the benefit of doing that?", "what's the benefit of doing Data Augmentation?"),  # "doing that"
    ("can that be done to video as well?", "can Data Augmentation be done to video as well?"),  # "can that be"
    ("give me a real-world use", "give me a real-world use (about Data Augmentation)?"),  # a request with an adjective
    ("name a couple of uses", "name a couple of uses (about Data Augmentation)?"),
])
def test_bare_that_and_requests_refer_to_the_subject(question, standalone):
    names = NameIndex({"da": ["Data Augmentation"]})
    history = [("user", "What is data augmentation?"), ("assistant", "Techniques to increase diversity [1].")]
    assert condense(question, history, names, {"da": "Data Augmentation"}) == standalone


def test_which_company_alone_asks_who_made_the_subject():
    names = NameIndex({"mum": ["MUM"]}, kinds={"mum": "model"})
    history = [("user", "What does MUM stand for?"), ("assistant", "MUM generates Multitask Unified Model [1].")]
    assert condense("and which company?", history, names, {"mum": "MUM"}) == "Who created MUM?"


def test_places_in_the_numbered_list_are_named_by_their_entry():
    """"concept number 17", "number 19", "the 5th concept" and "the concept right after it" name entries of the
    article's numbered list; a number no entry has, and a subject with no number, leave the question alone."""
    names = NameIndex({"ti": ["Textural Inversion"], "emb": ["Embedding"], "sdxl": ["SDXL"], "gan": ["GANs"]})
    titles = {"ti": "Textural Inversion", "emb": "Embedding", "sdxl": "SDXL", "gan": "GANs"}
    numbers = {"sdxl": "13", "ti": "14", "emb": "15"}
    assert condense("What's concept number 14 in the article's list?", [], names, titles, numbers=numbers) == \
        "What's Textural Inversion in the article's list?"
    assert condense("What is the 13th concept?", [], names, titles, numbers=numbers) == "What is SDXL?"
    assert condense("What is concept 40?", [], names, titles, numbers=numbers) == "What is concept 40?"
    history = [("user", "What is Textural Inversion?"), ("assistant", "Training a model to tie a concept to images [1].")]
    assert "Embedding" in condense("And the concept right after it?", history, names, titles, numbers=numbers)
    assert "SDXL" in condense("What about the previous concept?", history, names, titles, numbers=numbers)
    history = [("user", "What are GANs?"), ("assistant", "Two networks that compete [1].")]
    assert not {"SDXL", "Embedding"} & set(condense("And the next one?", history, names, titles, numbers=numbers).split())
    # places said in words: "the first item in the numbered list", "the last concept"
    numbers = {"sdxl": "1", "ti": "2", "emb": "3"}
    assert condense("What's the very first item in the article's numbered list of generative AI concepts?", [], names, titles,
                    numbers=numbers) == "What's SDXL?"
    assert condense("And what is the last concept?", [], names, titles, numbers=numbers) == "And what is Embedding?"
    assert condense("What does the second numbered concept do?", [], names, titles, numbers=numbers) == \
        "What does Textural Inversion do?"
    assert condense("Who made the first one?", [], names, titles, numbers=numbers) == "Who made the first one?"  # no list said
    history = [("user", "What's the first item in the numbered list?"), ("assistant", "SDXL: an enhanced version [1].")]
    assert condense("and the second?", history, names, titles, numbers=numbers) == "What's Textural Inversion?"


def test_a_question_asking_for_an_entry_is_about_the_entry_its_answer_gave():
    """A question that names nothing is about what its answer gave: the latest one when it stands alone (a new
    topic), and one asking for another entry ("Is there a strategy of that kind?") without the one it started from."""
    names = NameIndex({"gan": ["GANs"], "ckpt": ["Checkpoint"], "ssl": ["Self-Supervised Learning"],
                       "cl": ["Contrastive Learning"]})
    titles = {"gan": "GANs", "ckpt": "Checkpoint", "ssl": "Self-Supervised Learning", "cl": "Contrastive Learning"}
    history = [("user", "What are GANs?"), ("assistant", "Two networks that compete [1]."),
               ("user", "What's the name for a snapshot of a network's weights saved partway through training?"),
               ("assistant", "Checkpoint: a saved snapshot of a model's weights [1].")]
    assert condense("Why would I keep it?", history, names, titles) == "Why would I keep Checkpoint?"
    history = [("user", "What is self-supervised learning?"), ("assistant", "Self-Supervised Learning: learning from "
                                                                             "the data itself [1]."),
               ("user", "Is there a specific strategy of that kind in the glossary?"),
               ("assistant", "Self-Supervised Learning: learning from the data itself [1]. Contrastive Learning: a "
                             "self-supervised learning strategy [2].")]
    assert condense("how does it work?", history, names, titles) == "how does Contrastive Learning work?"
    # a follow-up that names nothing is still about the entry before ("and the dancers thing?" is no new topic)
    history = [("user", "What are GANs?"), ("assistant", "Two networks that compete [1]."),
               ("user", "and the forger thing?"), ("assistant", "The generator is like a forger; GANs train it [1].")]
    assert condense("why does it work?", history, names, titles) == "why does GANs work?"
    # "which half of it ...?" asks for a part of the subject: the part its answer gave is what "the other half" is of
    parts = NameIndex({"vae": ["VAEs"], "encoder": ["Encoder"]})
    history = [("user", "How do VAEs work?"), ("assistant", "VAEs encode data and decode it back [1]."),
               ("user", "which half of it squeezes the data down?"), ("assistant", "Encoder: compresses input data [1].")]
    assert condense("and the other half?", history, parts, parts.titles_by_entry) == "and the other half (about Encoder)?"


def test_a_one_like_the_subject_refers_to_it():
    """"Is there a newer, better one?" after SD1.5 asks about one like SD1.5; "one-shot" and "name one" do not."""
    names = NameIndex({"sd15": ["SD1.5"]})
    history = [("user", "What is SD1.5?"), ("assistant", "A version of the Stable Diffusion text-to-image model [1].")]
    assert condense("Is there a newer, better one?", history, names, {"sd15": "SD1.5"}) == \
        "Is there a newer, better one (about SD1.5)?"
    for question in ("What is one-shot learning?", "Can you name one?"):
        assert condense(question, history, names, {"sd15": "SD1.5"}) == question


def test_a_follow_up_whose_own_subject_is_unclear_falls_back_to_the_entry_the_latest_answer_names():
    """"Is everything in it actually a model?" pointed back at something unnamed; its answer named Whisper, so
    "that one" is Whisper rather than nothing."""
    history = [("user", "What does the article say its big model table represents?"),
               ("assistant", "A landscape of AI models, systems and frameworks."),
               ("user", "Is everything in it actually a model?"),
               ("assistant", "No: Whisper is even listed twice.")]
    assert ask("who put that one together?", history) == "who put Whisper together?"


def test_an_answer_that_never_says_its_entrys_name_is_about_the_entry_it_quotes():
    """Answers quote the material verbatim, so their sources can be read back: "why?" after an answer quoting the
    diffusion section is about Diffusion models, though neither the question nor the answer names it."""
    text = ("Diffusion models are a powerful type of generative model. In the second phase, you then train that same "
            "model to reverse the process and undo the corruptions it applied.")
    names = NameIndex({"diffusion": ["Diffusion models"], "gan": ["GANs"]}, texts_by_entry={"diffusion": text, "gan": "GANs."})
    assert names.quoted_in("In the second phase, you then train that same model to reverse the process and undo the "
                           "corruptions it applied. [1]") == ["diffusion"]
    assert names.quoted_in("Something the material never says at all here. [1]") == []
    history = [("user", "What does the pristine photo turn into after the model keeps degrading it?"),
               ("assistant", "In the second phase, you then train that same model to reverse the process and undo the "
                             "corruptions it applied. [1]")]
    assert condense("why?", history, names, {"diffusion": "Diffusion models"}) == "why (about Diffusion models)?"


def test_a_question_asking_whether_there_is_another_entry_is_about_the_one_its_answer_gave():
    """"Is there a GAN variant ...?" names GANs but asks for another entry: "it" is then the one the answer gave."""
    history = [("user", "Is there a GAN variant aimed at making faces?"),
               ("assistant", "StyleGAN is a variant of GANs for faces [1].")]
    assert ask("How does it work?", history) == "How does StyleGAN work?"
    history = [("user", "and is there a GAN variant aimed at making faces?"),  # after "and" too
               ("assistant", "StyleGAN is a variant of GANs for faces [1].")]
    assert ask("How does it work?", history) == "How does StyleGAN work?"


def test_a_question_naming_its_own_entry_can_still_point_back():
    """"is StyleGAN connected to it?" relates the entry it names to the subject; "is StyleGAN from them as well?"
    asks whether the subject's maker made it; "Is GPT-3 a Google model or an OpenAI one?" stands alone ("one" is
    its own kind); "training one" at the end stands for the subject."""
    history = [("user", "Who made Whisper?"), ("assistant", "Whisper was created by OpenAI [1].")]
    assert ask("is StyleGAN connected to it?", history) == "is StyleGAN connected to Whisper?"
    assert ask("is StyleGAN from them as well?", history) == "is StyleGAN from OpenAI as well?"
    assert ask("Is GPT-3 a Google model or an OpenAI one?", history) == "Is GPT-3 a Google model or an OpenAI one?"
    assert ask("what data is needed when training one?", history) == "what data is needed when training one (about Whisper)?"


def test_a_request_for_an_example_keeps_the_subject_before_it(assistant):
    """"Give me an example." only asks the last answer to go on: "it" after it is still LoRA, not GPT-3, which
    the example names first ("fine-tune a model like GPT-3 with LoRA")."""
    history = [("user", "How can I adapt a big pre-trained model to my niche without retraining it from scratch?"),
               ("assistant", "LoRA and Prompt Tuning are efficient methods to adapt and specialize large pre-trained "
                             "generative models to new tasks/domains without full retraining from scratch. [1]"),
               ("user", "Give me an example."),
               ("assistant", "Example: Using just a small amount of task-specific data, you can fine-tune a model like "
                             "GPT-3 with LoRA to generate content tailored to a niche domain like legal contracts. [1]")]
    assert assistant.standalone_query("Who does the table say made it?", history) == "Who does the table say made LoRA?"


def test_a_question_about_the_acronym_stays_about_the_entry_before():
    """ "What does the acronym stand for?" names no new subject: the next "its" is still StyleGAN's."""
    history = [("user", "Who made StyleGAN?"), ("assistant", "StyleGAN was created by NVIDIA [1]."),
               ("user", "what does the acronym stand for?"), ("assistant", "StyleGAN is an AI model in the table [1].")]
    assert ask("ok, and its output column?", history) == "ok, and StyleGAN's output column?"


@pytest.mark.parametrize("question", [
    "How long does it take to walk across the Golden Gate Bridge?",  # the "it" of time and cost refers to nothing
    "How much would it cost to rent a GPU for a day?",
])
def test_the_it_of_time_and_cost_is_no_reference(question):
    assert ask(question) == question


def test_how_long_it_takes_to_do_something_to_the_subject_still_refers_back():
    assert ask("How long does it take to train?") == "How long does Whisper take to train?"


def test_a_demonstrative_with_a_word_saying_which_refers_back():
    assert ask("who makes that speech model, per the table?") == "who makes Whisper, per the table?"
    assert ask("Is that a model or a website?") == "Is Whisper a model or a website?"  # "a" says nothing of which


def test_a_verbless_qualifying_fragment_is_about_the_subject():
    assert ask("so no company at all?") == "so no company at all (about Whisper)?"
    assert ask("only text?") == "only text (about Whisper)?"
    assert ask("Not every model in the table has a creator?") == "Not every model in the table has a creator?"  # a verb: own


def test_the_two_of_them_are_the_two_entries_just_discussed():
    """With no list of two in the last answer, "the two of them" are the two entries it names, or the one it names
    and the subject before, or the subjects of the last two exchanges."""
    history = [("user", "Who made Whisper?"), ("assistant", "OpenAI [1]."),
               ("user", "and the image one?"), ("assistant", "StyleGAN generates images [1].")]
    assert ask("do the two of them generate the same kind of thing?", history) == \
        "do Whisper and StyleGAN generate the same kind of thing?"
    named_two = [("user", "Which entries are speech models?"), ("assistant", "Whisper and StyleGAN, says the table [1].")]
    assert ask("which of the two is older?", named_two) == "which of Whisper and StyleGAN is older?"


def test_a_bare_that_after_as_at_the_end_refers_back():
    assert ask("is there a dataset in the table that could serve as that?") == \
        "is there a dataset in the table that could serve as Whisper?"


def test_what_we_are_talking_about_is_the_subject():
    """ "what sort of input are we talking about?" asks about the subject of the conversation."""
    assert ask("what sort of input are we talking about?") == "what sort of input are we talking about (about Whisper)?"
    assert ask("which data does it need in this case?") == "which data does Whisper need in this case?"  # pointer replaced
    assert ask("What sort of input does StyleGAN take?") == "What sort of input does StyleGAN take?"  # its own subject


def test_those_two_of_a_list_of_three_holding_the_entry_asked_about_before_are_the_others():
    """ "what else does that company have?" after Megatron-LM lists it with StyleGAN and GauGAN: "those two" are
    StyleGAN and GauGAN."""
    names = NameIndex({"megatron-lm": ["Megatron-LM"], "stylegan": ["StyleGAN"], "gaugan": ["GauGAN"]})
    history = [("user", "Who made Megatron-LM?"), ("assistant", "Megatron-LM was created by NVIDIA [1]."),
               ("user", "what else does that company have in the table?"),
               ("assistant", "The article's model table lists 3 models created by NVIDIA:\n"
                             "- StyleGAN — creator: NVIDIA — generates: Image [1]\n"
                             "- GauGAN — creator: NVIDIA — generates: Image [2]\n"
                             "- Megatron-LM — creator: NVIDIA — generates: Text [3]")]
    assert condense("do those two make the same kind of output?", history, names, names.titles_by_entry) == \
        "do StyleGAN and GauGAN make the same kind of output?"


def test_an_echo_question_is_about_the_subject():
    """ "going from what to what?": a wh-word at the end of a fragment asks about what was just said."""
    assert ask("going from what to what?") == "going from what to what (about Whisper)?"
    assert ask("trained on what?") == "trained on what (about Whisper)?"
    assert ask("What is StyleGAN trained on?") == "What is StyleGAN trained on?"


def test_a_described_item_set_before_the_question_is_what_its_pronoun_stands_for():
    """ "the Go one, what does its output column say?" after a list: "its" is the Go row, not the last subject."""
    history = [*GAMES[:1], ("assistant", GAMES[1][1])]
    assert condense("the real-time strategy one, who made it?", history, GAME_NAMES, GAME_NAMES.titles_by_entry) == \
        "AlphaStar, who made it?"


def test_a_part_said_by_the_entry_it_is_about_names_its_own_subject():
    """ "Does the part on GANs use a comparison too?" names its subject: nothing is attached ("the second phase?"
    alone still refers back)."""
    assert ask("Does the part on GANs use an analogy too?") == "Does the part on GANs use an analogy too?"
    assert ask("What is the second phase?") == "What is the second phase (about Whisper)?"


def test_a_kind_of_thing_named_before_their_is_what_their_stands_for():
    """ "text-to-video systems ... their clips": "their" is the systems the question names, not the last subject."""
    question = "How does the concepts list say text-to-video systems usually get their clips?"
    assert ask(question) == question
    assert ask("Which of those models use their own data?") != "Which of those models use their own data?"
    assert ask("Which well-known models use them at their core?") != "Which well-known models use them at their core?"


KINDS_NAMES = NameIndex({"vae": ["Variational Autoencoders (VAEs)", "VAEs", "VAE"], "genmodels": ["Generative Models"],
                         "gan": ["GAN", "GANs"], "esrgan": ["ESRGAN"], "lora": ["LoRA"],
                         "lora-pt": ["LoRA and Prompt Tuning"], "laion": ["Laion-400M"]})
KINDS_TITLES = {"vae": "Variational Autoencoders (VAEs)", "genmodels": "Generative Models", "gan": "GANs", "esrgan": "ESRGAN",
                "lora": "LoRA", "lora-pt": "LoRA and Prompt Tuning", "laion": "Laion-400M"}


@pytest.mark.parametrize(("asked", "answer", "question", "expected"), [
    ("Which kind of generative model squeezes its input into a compressed code and decodes it back?",
     "Variational Autoencoders (VAEs): A type of generative model that learns to encode input data [1].",
     "what are they mostly used for?", "what are Variational Autoencoders (VAEs) mostly used for?"),
    ("Which numbered concept is a GAN for making blurry images sharper?",
     "ESRGAN: A GAN-based architecture for super-resolution [1].", "what does its name stand for?",
     "What does ESRGAN stand for?"),
])
def test_a_question_asking_which_entry_fits_is_about_the_one_its_answer_gave(asked, answer, question, expected):
    """"Which kind of generative model ...?" names Generative Models only as the kind it asks for: "they" is then the
    entry the answer gave."""
    assert condense(question, [("user", asked), ("assistant", answer)], KINDS_NAMES, KINDS_TITLES) == expected


def test_a_question_asking_which_lab_made_an_entry_stays_about_that_entry():
    history = [("user", "Which lab does the table credit for Laion-400M?"),
               ("assistant", "Laion-400M was created by LAION; it generates dataset [1].")]
    assert condense("what else does it list?", history, KINDS_NAMES, KINDS_TITLES) == "what else does Laion-400M list?"


def test_a_name_asked_is_the_longer_entry_the_answer_opens_with():
    """"the LoRA section" answered by the "LoRA and Prompt Tuning" entry: "there" is that entry, not the LoRA row."""
    history = [("user", "What does the 'micro-courses' comparison in the LoRA section mean?"),
               ("assistant", "LoRA and Prompt Tuning are efficient methods to adapt large pre-trained models [1].")]
    assert "LoRA and Prompt Tuning" in condense("what's the analogy there?", history, KINDS_NAMES, KINDS_TITLES)


def test_its_creator_column_is_a_field_of_the_subject_not_its_maker():
    assert ask("and what does the table put in its creator column?") \
        == "and what does the table put in Whisper's creator column?"


@pytest.mark.parametrize("question", [
    "Which EU law regulates deepfakes, and what does it require?",
    "Which company sells the most GPUs, and how big is it?",
])
def test_a_pronoun_after_a_clause_asking_which_thing_stands_for_that_thing(question):
    """"it" stands for the answer to the clause before it (the law), not for the last subject: the question is new."""
    assert ask(question) == question


def test_a_clause_that_points_back_itself_still_gets_the_subject():
    assert ask("What else did that company make, and is it popular?") != "What else did that company make, and is it popular?"


def test_a_clause_asking_for_another_entry_still_gets_the_subject():
    question = "which other row is listed for speech, and whose is it?"
    assert ask(question) != question


@pytest.mark.parametrize("question", ["Back to AI: is there a lighter way to adapt a huge model than retraining all of it?",
                                      "Back to the article, does it worry about deepfakes at all?"])
def test_back_to_a_topic_after_a_digression_starts_anew(question):
    history = [*WHISPER, ("user", "Got a good recipe for lasagne?"), ("assistant", "I can't answer that from the material.")]
    assert ask(question, history) == question


def test_back_to_that_is_still_a_follow_up():
    assert ask("Back to that: who made it?") != "Back to that: who made it?"


def test_that_ability_points_back():
    assert ask("why is that ability important?") == "why is Whisper important?"


def test_the_variant_of_it_is_the_variant_entry():
    names = NameIndex({"perceiver": ["Perceiver"], "perceiver-io": ["Perceiver IO"]})
    history = [("user", "Which kinds of data is Perceiver listed for?"), ("assistant", "Perceiver generates multi-modal [1].")]
    assert "of it" not in condense("and the IO version of it?", history, names, names.titles_by_entry)


def test_a_named_entry_from_the_same_lab_is_compared_with_the_subjects_maker():
    """"and StyleGAN, is it from the same company?" after Whisper: the same company as Whisper's, OpenAI."""
    assert ask("and StyleGAN, is it from the same company?") == "and StyleGAN, is it from OpenAI?"



BEIT = [("user", "Who made BEiT?"), ("assistant", "BEiT was created by Microsoft [1].")]


def test_a_question_with_little_of_its_own_leans_on_the_conversation_when_only_that_reading_is_answerable(assistant):
    """No wording rule reads "same company each time?" as a follow-up, and the material cannot answer it on its own;
    it can answer it about the subject just discussed (BEiT has two rows), so that is the reading searched and shown."""
    assert assistant.standalone_query("same company each time?", BEIT) == "same company each time (about BEiT)?"
    assert assistant.trace("same company each time?", BEIT).answerable


@pytest.mark.parametrize("question", [
    "What is a GAN?",  # answerable on its own: a new topic, left as asked
    "How do I descale a kettle?",  # out of scope: no reading answers it, refused as asked
    "What's the best way to store fresh ginger?",  # more than a fragment: its own topic, whatever passes
    "Who made Whisper?",  # names its own subject
])
def test_a_question_that_stands_or_falls_on_its_own_is_left_as_asked(assistant, question):
    assert assistant.standalone_query(question, BEIT) == question
