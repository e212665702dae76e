"""Hybrid retrieval, name matching, the model-table filter and the retrieve CLI, on the real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from assistant.retrieval import NameIndex
from assistant.stages import NodeView
from assistant.table import ModelTable
from assistant.text import without_typed_examples, without_where
from tests.conftest import PROJECT_DIR


def test_names_match_whole_words_and_acronyms_by_case():
    names = NameIndex({"cans": ["Creative Adversarial Networks (CANs)", "CANs", "CAN"],
                       "vae": ["Variational Autoencoders", "VAE"],
                       "negative-prompt": ["Negative Prompt"], "prompt": ["Prompt"]})
    assert names.find("How can a small network learn?") == []          # "can" is not the acronym CAN
    assert names.find("what languages can it read?") == []             # not even in an all-lower-case question
    assert names.find("what are cans?") == ["cans"]                    # its plural is no everyday word
    assert names.find("What are CANs?") == ["cans"]
    assert names.find("What is a vae") == []                            # acronyms match in their own case...
    assert names.find("what is a vae") == ["vae"]                       # ...or in any case in an all-lower-case question
    assert names.find("Explain a VAE") == ["vae"]
    assert names.find("what is a negative prompt?") == ["negative-prompt"]  # the longest name wins
    assert names.find("organic prompts") == []                          # whole words only
    spelt = NameIndex({"turing-nlg": ["Turing-NLG"], "self-supervised": ["Self-Supervised Learning"]},
                      kinds={"turing-nlg": "model", "self-supervised": "glossary"})
    assert spelt.find("Does the table have two rows for Microsoft's Turing NLG model?") == ["turing-nlg"]  # a space for "-"
    assert spelt.find("What is self supervised learning?") == []  # a model's name only


def test_generic_names_are_not_boosted():
    texts = {f"e{i}": "generative AI is everywhere" for i in range(8)}
    names = NameIndex({"what-is": ["Generative AI"], "e0": ["Thing"]}, texts_by_entry=texts)
    assert names.find("What does generative AI do?") == []


def test_retrieve_ranks_named_entry_first(assistant):
    passages = assistant.retrieve("Who created Whisper?", k=5)
    assert passages[0].entry_id == "whisper"
    assert {"entry_id", "title", "kind", "text", "score", "source"} <= set(passages[0].to_dict())
    assert len(assistant.retrieve("What is a VAE?", k=3)) == 3


def test_paraphrased_question_finds_the_entry(assistant):
    passages = assistant.retrieve("How can a model learn a new task from a single example?", k=5)
    assert "one-shot-learning" in [p.entry_id for p in passages]


def test_where_the_material_says_it_is_not_what_is_searched_for(assistant):
    """ "in the table" is where to look: the table's introduction (the one passage saying "table") does not outrank the
    row asked for."""
    assert without_where("Is there a speech-to-text model in the model table?") == "Is there a speech-to-text model?"
    assert without_where("By the article's definition, can it build worlds?") == "can it build worlds?"
    assert without_where("What is in the table?") == "What is in the table?"  # nothing else to search for
    assert without_where("In the article's diffusion explanation, why?") == "In the article's diffusion explanation, why?"
    assert assistant.retrieve("Which entry in the table is listed as general purpose?", k=3)[0].title == "Perceiver IO"


def test_what_someone_typed_is_searched_as_a_description(assistant):
    """The words of a quoted prompt (whales, Paris) say nothing about what is asked; the situation around it does."""
    assert without_typed_examples("My son typed 'a blue whale flying over Paris' into an app") == \
        "My son typed a description into an app"
    assert without_typed_examples("Who wrote the 'Attention Is All You Need' paper?") == \
        "Who wrote the 'Attention Is All You Need' paper?"  # a quoted title, typed by nobody
    assert without_typed_examples("I typed 'cat' and got nothing") == "I typed 'cat' and got nothing"  # too short to mislead
    for question in ("My son typed 'a blue whale flying over Paris at night' into an app and got a painting of exactly that. "
                     "What is that called?",
                     'I typed "an old lighthouse in a storm, oil on canvas" and the tool drew it for me. Which concept is that?'):
        assert assistant.retrieve(question, k=3)[0].entry_id == "text-to-image"


def test_model_table_finds_an_output_described_in_other_words(assistant):
    table = ModelTable(assistant.snapshot.nodes, assistant.embed_model)
    poses = table.match("Is there anything in the table for detecting human body poses?")
    assert poses is not None and [NodeView.of(n).title for n in poses.nodes] == ["OpenPose"]
    ocr = table.match("Which entry in the table pulls text out of images?")
    assert ocr is not None and [NodeView.of(n).title for n in ocr.nodes] == ["Tesseract OCR"]
    assert table.match("Is there anything in the table for baking sourdough bread?") is None  # nothing comes close
    game = table.match("I want to prototype a text adventure where the AI narrates whatever the player types. "
                       "Is there something in the model table built for that?")  # 0.585 from "Interactive Text"
    assert game is not None and [NodeView.of(n).title for n in game.nodes] == ["AI Dungeon"]
    assert table.match("How do people detect human body poses?") is None  # not asking what the table has
    assert ModelTable(assistant.snapshot.nodes).match("Is there anything in the table for detecting human body poses?") is None


def test_model_table_lists_every_matching_row(assistant):
    table = ModelTable(assistant.snapshot.nodes)
    nvidia = table.match("Which models did NVIDIA create?")
    assert nvidia and nvidia.field == "creator"
    assert {n.metadata["entry_id"] for n in nvidia.nodes} == {"stylegan", "gaugan", "megatron-lm"}
    audio = table.match("Which models generate audio?")
    assert audio and {"wavenet", "perceiver"} <= {n.metadata["entry_id"] for n in audio.nodes}
    assert table.match("What do you call it when a model learns from one example?") is None
    assert table.match("How do diffusion models differ from adversarial training?") is None
    # A hyphenated category and a creator filter together: only Google's image-classification rows.
    google = table.match("Which image-classification models does the table credit to Google?")
    assert google and google.field == "creator,generates"
    assert {n.metadata["entry_id"] for n in google.nodes} == {"efficientnet", "mobilenet", "vit-vision-transformer"}
    # a distinctive word of a category ("games") and two creators at once
    games = table.match("Which models in the table are about playing games?")
    assert games and {n.metadata["entry_id"] for n in games.nodes} == {"muzero", "alphago", "alphastar", "openai-five"}
    two = table.match("List the models from Hugging Face and EleutherAI.")
    assert two and two.creator == "Hugging Face or EleutherAI"
    assert {n.metadata["entry_id"] for n in two.nodes} == {"bloom", "gpt-neo", "gpt-j", "gpt-neox"}
    # the creators' rows in the order the question names them: "the first one" is then the same for both readers
    asked = table.match("Which entries does the table credit to Latitude and to Jasper AI?")
    assert asked and asked.creator == "Latitude or Jasper AI"
    assert [n.metadata["entry_id"] for n in asked.nodes] == ["ai-dungeon", "jasper"]
    # a creator with no row of the output asked for: its rows, saying none generates that
    none = table.match("Does Hugging Face have an image generator in the model table?")
    assert none and [n.metadata["entry_id"] for n in none.nodes] == ["bloom"]
    assert none.creator == "Hugging Face" and none.missing == "image"
    speech = table.match("Is any of NVIDIA's entries in the table a speech model?")
    assert speech and {n.metadata["entry_id"] for n in speech.nodes} == {"stylegan", "gaugan", "megatron-lm"}
    assert speech.missing == "speech"
    made = table.match("Did OpenAI also make an image generator?")  # a yes/no about a creator's rows
    assert made and "dall-e" in {n.metadata["entry_id"] for n in made.nodes}
    # "image-only": the cell "Image" alone, not "Image & Text"
    only = table.match("Did OpenAI also make an image-only generator?")
    assert only and [n.metadata["entry_id"] for n in only.nodes] == ["dall-e"]
    # what the rows are contrasted with ("rather than classify them") is no filter
    contrast = table.match("Any rows from Google that make images rather than classify them?")
    assert contrast and contrast.creator == "Google" and contrast.output == "image"
    other_way = table.match("List the models from EleutherAI and Hugging Face.")
    assert other_way and [n.metadata["field_creator"] for n in other_way.nodes][0] == "EleutherAI"
    assert table.match("Which loss function do learning models use?") is None
    several = table.match("Which table entry handles text, images and audio at once?")  # verbs of handling outputs
    assert several and [n.metadata["entry_id"] for n in several.nodes] == ["perceiver"]


def test_retrieve_cli_json(indexed_dir):
    env = {**os.environ, "DATA_DIR": str(indexed_dir), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "assistant", "retrieve", "What does WaveNet generate?", "-k", "3", "--json"],
                         cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    passages = json.loads(run.stdout)
    assert len(passages) == 3 and passages[0]["entry_id"] == "wavenet"
    assert set(passages[0]) >= {"entry_id", "title", "kind", "text", "score", "source"}


def test_retrieve_cli_on_empty_index_is_a_clear_error(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "assistant", "retrieve", "anything"], cwd=PROJECT_DIR, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "index is empty" in run.stderr and "Traceback" not in run.stderr


def test_a_terms_other_number_names_it_but_a_models_does_not():
    names = NameIndex({"transformer": ["Transformer"], "transformers": ["Transformers"], "skip": ["Skip Connections"],
                       "lora": ["LoRA"], "gan": ["GANs"]},
                      kinds={"transformer": "model", "transformers": "section", "skip": "glossary", "lora": "glossary",
                             "gan": "glossary"})
    assert names.find("What is a skip connection?") == ["skip"]
    assert names.find("Why did the transformer take over?") == ["transformer", "transformers"]
    assert names.find("Name the transformers") == ["transformers"]  # the model row "Transformer" gets no plural
    assert names.find("What are LoRAs?") == [] and names.find("What is a GAN?") == []  # acronyms keep their form


def test_a_model_rows_prose_twin_is_named_with_it():
    """The glossary's "Vision Transformers (ViTs)" shares the row "ViT (Vision Transformer)"'s names, plural aside:
    naming one names both (the row says who made it, the glossary what it is); other rows have no twin."""
    names = NameIndex({"vit": ["ViT (Vision Transformer)", "ViT", "Vision Transformer"],
                       "vits": ["Vision Transformers (ViTs)", "ViTs", "Vision Transformers"], "swin": ["Swin Transformer"]},
                      kinds={"vit": "model", "vits": "glossary", "swin": "model"})
    assert names.twins == {"vit": ["vits"]}
    assert names.find("how does the glossary explain the idea behind ViT (Vision Transformer)?") == ["vit", "vits"]
    assert names.find("Who made Swin Transformer?") == ["swin"]


def test_gate_a_term_named_in_passing_does_not_decide_alone(assistant):
    """"embeddings" names the Embedding entry, but the question asks for a loss: the passages' evidence
    decides. A topic the material never mentions is still refused, and a year needs a year in the
    evidence (the "3" of GPT-3 is not one)."""
    assert assistant.trace("Which loss is used when learning embeddings so that matching pairs end up closer "
                           "together than mismatched ones?").answerable
    refused = assistant.trace("How is cosine similarity used to compare two embeddings?")
    assert not refused.answerable and "cosine" in refused.reason
    assert not assistant.trace("In what year was the Transformer architecture introduced?").answerable


def test_gate_a_compound_is_evidence_when_its_words_are(assistant):
    """"mentor-and-student" is one token of the question; the passage has "a mentor and student artist"."""
    from assistant.gate import coverage

    assert coverage({"mentor-and-student"}, ["a feedback loop between a mentor and student artist"]) == 1.0
    assert coverage({"mentor-and-teacher"}, ["a feedback loop between a mentor and student artist"]) == 0.0
    assert assistant.trace("What does the mentor-and-student comparison in the article describe?").answerable


def test_a_name_inside_a_longer_name_counts_when_it_also_stands_alone():
    names = NameIndex({"negative-prompt": ["Negative Prompt"], "prompt": ["Prompt"]}, kinds={})
    assert names.find("What is a negative prompt?") == ["negative-prompt"]
    assert names.find("How is a negative prompt different from a normal prompt?") == ["negative-prompt", "prompt"]
    assert names.find("How does a prompt differ from a negative prompt?") == ["prompt", "negative-prompt"]


def test_a_hyphenated_capitalised_title_is_a_word_not_an_acronym():
    names = NameIndex({"meta-learning": ["Meta-Learning"], "gpt-neo": ["GPT-Neo"], "lora": ["LoRA"]}, kinds={})
    assert names.find("How does meta-learning differ from transfer learning?") == ["meta-learning"]
    assert names.find("What is Meta-Learning?") == ["meta-learning"]
    assert names.find("Who made GPT-Neo?") == ["gpt-neo"] and names.find("Is lora a model? Who made GPT-neo?") == []


def test_gate_a_relative_who_asks_for_no_person(assistant):
    """"people who shouldn't" is no question about who made something; "Who founded X?" still is."""
    from assistant.gate import _evidence_type_ok

    assert _evidence_type_ok("What protects the weights from people who should not touch them?", ["text"], has_model=False)
    assert not _evidence_type_ok("Who founded Stability AI?", ["text"], has_model=False)
    assert not _evidence_type_ok("Quick question: who runs OpenAI?", ["text"], has_model=False)
    assert assistant.trace("What stops people who shouldn't have access from tampering with a model's parameters?").answerable


def test_gate_a_named_entry_does_not_vouch_for_an_unknown_topic(assistant):
    """The question names GANs but asks about a loss the material never mentions; a topic that is the
    named entry itself still passes."""
    refused = assistant.trace("How does the Wasserstein loss change the way a GAN is trained?")
    assert not refused.answerable and "wasserstein" in refused.reason
    assert assistant.trace("How does a GAN's discriminator get better over time?").answerable


def test_names_inside_longer_names_and_spelt_out_coordinations():
    names = NameIndex({"lora": ["LoRA"], "lora-pt": ["LoRA and Prompt Tuning"], "ssl": ["Self-Supervised Learning"],
                       "ul": ["Unsupervised Learning"], "sl": ["Supervised Learning"]}, kinds={})
    assert names.find("What are LoRA and Prompt Tuning?") == ["lora-pt"]
    assert set(names.inside("What are LoRA and Prompt Tuning?")) == {"lora-pt", "lora"}
    assert set(names.find("self-supervised and unsupervised learning")) == {"ssl", "ul"}
    assert set(names.find("Is supervised or unsupervised learning better?")) == {"sl", "ul"}
    assert names.find("text and image learning") == []  # plain nouns are not spelt out


def test_a_name_set_aside_is_not_asked_about():
    names = NameIndex({"prompt": ["Prompt"], "controlnet": ["ControlNet"], "gan": ["GANs"]}, kinds={})
    assert names.find("Besides the text prompt, what extra inputs does ControlNet take?") == ["controlnet"]
    assert names.find("Apart from GANs, which models generate images?") == ["gan"]  # nothing else named: kept
    assert names.find("What does ControlNet add to a prompt?") == ["controlnet", "prompt"]


def test_gate_a_question_about_a_name_the_material_never_uses_is_refused(assistant):
    """Passages about styles and images are close in words, but the question is about Nightshade."""
    refused = assistant.trace("How does Nightshade poison images to protect artists from AI training?")
    assert not refused.answerable and "nightshade" in refused.reason


def test_gate_a_quantity_of_something_the_material_never_uses_is_refused(assistant):
    """What "how much" measures is the topic: the passages hold numbers and words about training language
    models, but nothing about carbon. A quantity of something the material has still passes the gate."""
    refused = assistant.trace("How much carbon dioxide is emitted when training a large language model?")
    assert not refused.answerable and "carbon" in refused.reason
    assert assistant.trace("How many image-text pairs does LAION 5B contain?").answerable
    # a measure at its extreme asks for a number too: BigGAN's row has none
    assert not assistant.trace("what's the highest resolution BigGAN can generate?").answerable


def test_gate_a_date_the_material_never_gives_is_refused(assistant):
    """A row says who made ChatGPT, never when its training data ends."""
    assert not assistant.trace("What is ChatGPT's knowledge cutoff date?").answerable
    assert assistant.trace("Who made ChatGPT?").answerable


def test_gate_a_tag_that_asks_for_a_yes_is_no_topic(assistant):
    """ "right?" after a statement asks whether it is so: the row answers what Whisper generates."""
    assert assistant.trace("whisper = speech to text right??").answerable


def test_gate_a_kind_of_thing_a_model_is_asked_to_be_is_no_topic(assistant):
    """"agent" is a word the material never uses, but "Is DeepMind Lab a game-playing agent?" asks what kind of thing
    it is, which its row tells; a question about something else of it is still refused."""
    trace = assistant.trace("Is DeepMind Lab a game-playing agent?")
    assert trace.answerable, trace.reason
    assert not assistant.trace("Is DeepMind Lab a game-playing agent with an API?").answerable


def test_model_table_reads_a_category_in_other_forms_a_plain_cell_and_names_set_aside(assistant):
    table = ModelTable(assistant.snapshot.nodes)
    classifiers = {"efficientnet", "mobilenet", "vit-vision-transformer", "swin-transformer",
                   "deit-data-efficient-image-transformer"}
    # "classifying images" asks for the category "Image Classification", not every image row
    for question in ("List every row the table tags for classifying images.", "Which rows classify images?"):
        found = table.match(question)
        assert found and {n.metadata["entry_id"] for n in found.nodes} == classifiers, question
    # "plain text": the cell "Text" alone, not "Transcribed Text" or "Image & Text"
    plain = table.match("What else from OpenAI is listed as generating plain text?")
    assert plain and {n.metadata["field_generates"] for n in plain.nodes} == {"Text"}
    # the "OpenAI" of "OpenAI Five" set aside is no creator asked for
    rts = table.match("Which DeepMind models other than OpenAI Five generate Real-time Strategy Game Play?")
    assert rts and rts.creator == "DeepMind" and [n.metadata["entry_id"] for n in rts.nodes] == ["alphastar"]
    # a creator's rows left aside, in other words
    aside = table.match("Leaving Google's own rows aside, which entries in the table are listed for image classification?")
    assert aside and {n.metadata["entry_id"] for n in aside.nodes} == {"swin-transformer",
                                                                      "deit-data-efficient-image-transformer"}
    # "the concepts list" is the noun: no list of rows; "GPT-named rows" filters the names
    assert table.match("What does the concepts list mean by Image to Image?") is None
    named = table.match("Which GPT-named rows come from somewhere else?")
    assert named and named.name == "GPT" and "gpt-neo" in {n.metadata["entry_id"] for n in named.nodes}
    # what a model is to take in, told before the ask: the rows generating all of it
    taking = table.match("I need one model that takes in text, pictures and sound together. Is anything in the table like that?")
    assert taking and [n.metadata["entry_id"] for n in taking.nodes] == ["perceiver"]
    # whether a creator shows up in the table asks for its rows; a row that shows up is asked about itself
    shows = table.match("Does Carnegie Mellon University show up anywhere else in the table?")
    assert shows and [n.metadata["entry_id"] for n in shows.nodes] == ["openpose", "xlnet"]  # XLNet's "Google Brain & CMU"
    assert table.match("Bart shows up in the table — which organisation made it?") is None
    # creators joined by "or" (or counted as one): the rows of any of them; an adverb is no filter
    meta = table.match("Counting Meta AI and Facebook AI as one company, which of its rows produce text in some form?")
    assert meta and {"llama", "llama-2", "roberta", "bart"} <= {n.metadata["entry_id"] for n in meta.nodes}
    simply = table.match("Among the rows credited simply to 'Google', which ones have plain 'Image' as their output?")
    assert simply and {n.metadata["entry_id"] for n in simply.nodes} == {"deepdream", "simclr"}
    # a creator's word inside a model's name asks for no creator's rows
    assert table.match("What does the table list OpenAI Five as producing, and which other row has exactly the same output?") \
        is None
    nvidia = table.match("Which of the GAN-named rows in the table come from NVIDIA?")  # and a creator named too
    assert nvidia and nvidia.creator == "NVIDIA" and {n.metadata["entry_id"] for n in nvidia.nodes} == {"stylegan", "gaugan"}


def test_gate_a_creator_question_in_other_words_is_answered_by_the_row(assistant):
    """"who does the list say it belongs to?" asks who made it, though "belongs" is no verb of making."""
    trace = assistant.trace("Tesseract OCR: who does the list say it belongs to?")
    assert trace.answerable, trace.reason
    for question in ("GPT-NeoX: which outfit does the table credit for it, and is it a text model or an image one?",
                     "ELMo: which institute is it from, and what kind of output is it listed with?",
                     # a claim to check, and the prose about a model beside its row
                     "My lecturer's slide says LangChain comes from Facebook AI, like RAG does. Is that what the table says?",
                     "Apart from its row in the model table, where in the article's explanations does DALL-E come up?"):
        assert assistant.trace(question).answerable, question


def test_gate_a_short_name_is_spelt_out_only_where_the_material_spells_it_out(assistant):
    """The article never spells out PLMS; it does YOLO and MoCo (in brackets) and MUM (its output cell's initials).
    A short name that is an entry's own (CKPT) is answered by what the entry says it is."""
    refused = assistant.trace("What does PLMS stand for?")
    assert not refused.answerable and refused.reason == "no such facts"
    for question in ("What does YOLO stand for?", "What does MoCo stand for?", "What does MUM stand for?",
                     "what does CKPT stand for"):
        trace = assistant.trace(question)
        assert trace.answerable, (question, trace.reason)


def test_the_passage_that_spells_a_short_name_out_is_retrieved_wherever_it_is(assistant):
    """"What does GPT stand for?" matches the GPT rows best; the one passage that spells it out ("OpenAI’s GPT
    (Generative Pre-trained Transformer)", in the key components) is retrieved with them, and answers."""
    trace = assistant.trace("What does GPT stand for?")
    assert trace.answerable, trace.reason
    assert "generative-models" in [p.entry_id for p in trace.passages]
    answer = assistant.ask("What does GPT stand for?")
    assert "Generative Pre-trained Transformer" in answer.text and not answer.refused


def test_gate_what_a_model_is_asked_to_make_is_no_unknown_topic(assistant):
    """"pictures" is a word the material never uses; the row of GPT-4 still says what it makes."""
    trace = assistant.trace("Does the table say GPT-4 makes pictures?")
    assert trace.answerable, trace.reason


def test_how_much_inside_a_question_for_a_thing_asks_for_no_number():
    from assistant.gate import _asks_quantity

    assert _asks_quantity("How many parameters does GPT-3 have?")
    assert _asks_quantity("Do you know how much data LAION 5B holds?")
    assert not _asks_quantity("Which mechanism lets a network decide how much weight each part of its input deserves?")


def test_gate_only_the_clause_that_asks_counts_for_a_models_fields(assistant):
    """A lead-in clause may use words the material never does ("sound"); what is asked (who made them) is in the
    table. A question that asks about something the material never mentions is still refused."""
    both = assistant.trace("Whisper and WaveNet both deal with sound; who made each, and what does each one output?")
    assert both.answerable
    assert not assistant.trace("Who owns the copyright to images made with Midjourney?").answerable
    # a word that only qualifies the relation is no topic the material lacks; nor is the name spelt out
    assert assistant.trace("Does the table credit XLNet to Google alone?").answerable
    assert assistant.trace("Is Midjourney from one of the big tech companies, going by the table?").answerable
    assert assistant.trace("Who built MoCo, going by the table, and what's the full name behind the abbreviation?").answerable
    assert assistant.trace("my boss wants us to try jasper for blog posts and i have no clue who even makes it").answerable
    # who exactly within a creator, and what the user calls its output ("a picture generator"), are no unknown topics
    assert assistant.trace("Is the BigBird row credited to Google as a whole or to one particular Google team?").answerable
    assert assistant.trace("Does the table list StyleGAN as a picture generator, and is it from NVIDIA?").answerable
    assert not assistant.trace("Is StyleGAN a copyright-free picture generator?").answerable
    # what is said around the relation: "put it down to", "is said to", where to look ("glossary"), a lead-in
    assert assistant.trace("Codex: does the table put it down to OpenAI or to Microsoft?").answerable
    assert assistant.trace("preparing my slides — BigBird counts as a Google model in the table, right?").answerable


def test_gate_the_users_verb_for_what_a_row_does_is_no_unknown_topic(assistant):
    """ "what does it spit out?", "only handle text?", "which name sits in its creator column?": the row's fields answer,
    whatever verb the user says them with; a thing asked about beside the row is still refused."""
    for asked in ("WHO MADE STYLEGAN AND WHAT DOES IT SPIT OUT", "Does DeepMind's Perceiver only handle text?",
                  "Which organisation's name sits in BigBird's creator column?"):
        assert assistant.trace(asked).answerable, asked
    assert not assistant.trace("Which hardware did MuZero run on, and who made it?").answerable
    assert not assistant.trace("Who made StyleGAN and what copyright does it spit out?").answerable
    assert not assistant.trace("Where is the company behind Stable Diffusion headquartered?").answerable  # no doer


def test_gate_a_question_of_the_glossary_about_a_model_is_judged_on_the_glossary(assistant):
    """ "Is MAUVE one of the metrics the glossary lists?" names a model row but asks of the glossary, whose
    evaluation-metrics entry answers it; a question the glossary has no passage for is still refused."""
    assert assistant.trace("Is MAUVE among the metrics the glossary lists for judging generative models?").answerable
    assert not assistant.trace("Does the glossary say what license BLOOM uses?").answerable


def test_gate_an_everyday_action_leading_the_topic_is_no_unknown_term(assistant):
    """ "Why would putting a penalty on large weights help?" is about a penalty (Regularization), whatever "putting" is."""
    assert assistant.trace("Why would putting a penalty on large parameter values help a model on unseen data?").answerable
    assert not assistant.trace("Why does putting a cat first matter?").answerable  # the rest is still unknown


def test_gate_a_rows_own_fields_vouch_only_for_themselves(assistant):
    """"audio" is WaveNet's output and "WaveNet's" its name: neither is evidence for a sampling rate."""
    refused = assistant.trace("What sampling rate does WaveNet's audio use?")
    assert not refused.answerable and refused.reason == "fields-only"
    assert assistant.trace("Is WaveNet used for audio?").answerable


def test_gate_a_creator_question_in_chat_style_is_answered(assistant):
    """"someone elses" is "someone else's"; "Which company is X from?" asks who made it."""
    assert assistant.trace("is reformer a google thing or someone elses").answerable
    assert assistant.trace("Which company is ELECTRA from?").answerable


def test_gate_an_everyday_adverb_in_a_creator_question_is_no_unknown_topic(assistant):
    """"exactly" is a word the material never uses, but it says how, not what, is asked: the table answers."""
    trace = assistant.trace("Are LLaMA and LLaMA-2 credited to exactly the same organisation in the table?")
    assert trace.answerable, trace.reason
    assert not assistant.trace("Who owns the trademark to LLaMA?").answerable


def test_gate_a_model_the_material_never_lists_is_refused(assistant):
    """Passages about generating content are close in words; the question is about a model the table lacks."""
    refused = assistant.trace("What kinds of content can Google's Gemini model generate?")
    assert not refused.answerable and "gemini" in refused.reason
    assert assistant.trace("What kinds of content can Google's BERT model generate?").answerable


def test_gate_a_language_is_no_unknown_name(assistant):
    """"Spanish" and "Italian" are capitalised but name no entry: a translation question is not about them."""
    trace = assistant.trace("What kind of model translates Spanish text into Italian?")
    assert trace.answerable, trace.reason
    assert not assistant.trace("What kind of model translates Klingon text into Italian?").answerable


def test_gate_a_setting_asks_for_a_value_the_material_never_gives(assistant):
    """"What beam width ...?" asks for a number; "one" in "from one task to another" or the 3 of "3D" is none."""
    for question in ("What beam width is typical in practice?", "Which learning rate should I pick for a GAN?",
                     "What weight decay value should I use for regularization?",  # two words before "value"
                     "What counts as a good value for FID?", "What resolution does SDXL output by default?"):
        trace = assistant.trace(question)
        assert not trace.answerable and trace.reason == "no such facts", (question, trace.reason)
    assert assistant.trace("What is beam search used for?").answerable


def test_what_a_named_model_is_built_on_is_searched_in_prose_speaking_of_it(assistant):
    """Its other words ("does the article say") do not match the Transformers passage that says GPT-3 leverages
    transformer architectures; other GPT rows, which match "GPT", cannot say what GPT-3 rests on."""
    trace = assistant.trace("What architecture does the article say GPT-3, GPT-4 is built on?")
    assert trace.answerable, trace.reason
    assert "transformers" in [p.entry_id for p in trace.passages][:3]


def test_gate_prose_speaking_of_a_model_tells_what_it_is_built_on(assistant):
    """A model row only says who made it and what it generates, but prose that names the model can say what it rests
    on; a question about something else of the model (its licence) is still refused."""
    for question in ("What technique is Stable Diffusion built on?", "What architecture is GPT-3 based on?"):
        trace = assistant.trace(question)
        assert trace.answerable, (question, trace.reason)
    assert not assistant.trace("What license is Stable Diffusion under?").answerable


def test_gate_whose_is_it_asks_who_made_a_model(assistant):
    """"whose is it" asks for the row's creator, a fact the table holds."""
    trace = assistant.trace("Swin Transformer: is that for image classification too, and whose is it?")
    assert trace.answerable, trace.reason


def test_an_announced_new_topic_is_no_follow_up(assistant):
    """"Totally unrelated: ..." starts something new, even once the lead-in is dropped from what is searched."""
    history = [("user", "What is ELMo?"), ("assistant", "ELMo was created by AllenNLP [1].")]
    query = assistant.standalone_query("Totally unrelated: how long should a steak rest after it comes off the grill?", history)
    assert "ELMo" not in query and "steak rest after it" in query
    assert "ELMo" in assistant.standalone_query("how long does it take to train?", history)


def test_gate_everyday_adverbs_and_doing_are_no_unknown_topic(assistant):
    """"mostly" and "doing" are words the material never uses, but no topic of the question."""
    for question in ("Where is beam search mostly used?", "What is AlphaStar listed as doing?"):
        trace = assistant.trace(question)
        assert trace.answerable, (question, trace.reason)
    assert not assistant.trace("How is beam search mostly calibrated with temperature scaling?").answerable


def test_prose_speaking_of_a_named_entry_is_evidence_on_it(assistant):
    """"latent space" names the Latent Space entry; the section that uses it (Latent Diffusion) answers why."""
    passages = assistant.retrieve("Why would a generator work in a compressed latent space rather than in pixel space?")
    assert passages[0].entry_id == "latent-diffusion-and-plms-sampling", [p.entry_id for p in passages]


def test_a_title_set_in_the_materials_field_is_named_by_what_it_sets_there(assistant):
    """"Symbolic AI in Generative Models" is found as "symbolic AI"; "Transfer Learning in Generative AI" is not
    named "Transfer Learning", the glossary entry's own name."""
    names = assistant.snapshot.names_by_entry()
    assert "Symbolic AI" in names["symbolic-ai-in-generative-models"]
    assert "Transfer Learning" not in names["transfer-learning-in-generative-ai"]
    xai = names["explainable-ai-xai-in-generative-models"]
    assert not any(n.startswith("Explainable AI") and "Generative" not in n for n in xai)
    assert assistant.analyze("What is symbolic AI?").intent.subjects == ("symbolic-ai-in-generative-models",)


def test_a_yes_no_question_about_a_creators_models_is_read_in_bounded_time():
    """MAX_QUESTION_CHARS may be raised: the pattern for "does X have a ... model?" must stay linear."""
    import time

    from assistant.table import _EXISTS

    started = time.perf_counter()
    assert _EXISTS.search("does " + "have x " * 4000) is None
    assert time.perf_counter() - started < 0.1  # unbounded gaps took 0.7 s here


def test_a_situation_before_the_ask_is_searched_with_it(assistant):
    """ "What is that step called?" says little on its own: the situation before it, searched beside the ask, finds the
    entry; and a name in the situation (a phone's brand) is context, not what is asked about."""
    question = "To shrink our model for an Android phone we store its weights with fewer bits. What is that step called?"
    trace = assistant.trace(question)
    assert trace.query == "What is that step called?"  # the ask is what is shown and asked
    assert trace.passages[0].entry_id == "quantization" and trace.answerable, trace.reason
    assert assistant.trace("What is that step called?").passages[0].entry_id != "quantization"  # the ask alone


def test_gate_an_entry_named_only_as_an_example_is_not_what_is_asked_about(assistant):
    """"a big model like GPT or DALL-E" names DALL-E's row only as an example: the row, which only says who made it and
    what it generates, does not decide that the question is unanswerable."""
    trace = assistant.trace("Why can a big model like GPT or DALL-E learn a niche style with only a little extra data, as "
                            "the article puts it?")
    assert "dall-e" in [p.entry_id for p in trace.passages] and trace.answerable, trace.reason
    assert not assistant.trace("Why can DALL-E pick up a niche style from only a little extra data?").answerable


def test_gate_a_setting_the_user_changes_while_generating_is_no_question_about_an_output(assistant):
    assert not assistant.trace("What does the 'CLIP skip' setting change when I generate images in Stable Diffusion?").answerable


def test_a_message_typed_in_lower_case_names_acronym_entries_in_any_case(assistant):
    """Focusing "who made megatron-lm??" must not capitalise it into a sentence-case question, in which a lower-case
    "megatron-lm" would no longer name Megatron-LM."""
    answer = assistant.ask("who made megatron-lm?? and gaugan, same company or not")
    assert not answer.refused and "NVIDIA" in answer.text, answer.text


def test_gate_where_the_table_puts_a_model_asks_who_made_it(assistant):
    trace = assistant.trace("Which lab does the table put next to RAG, and what kind of output is listed for it?")
    assert trace.answerable, trace.reason


def test_a_question_asking_for_a_numbered_concept_ranks_concepts_above_rows_it_does_not_name(assistant):
    """ "Which of the numbered concepts ...?" asks for one of the 22 concepts: a model row or glossary term it does not
    name is no answer, however close its words."""
    from assistant.text import kinds_asked

    assert kinds_asked("Which of the article's numbered concepts is that?") == {"concept"}
    assert kinds_asked("What's the glossary term for that?") == {"concept", "glossary", "section"}
    assert kinds_asked("Which model in the table makes music?") is None
    assert kinds_asked("What does the concepts section say first?") == {"concept", "section"}  # or the section itself
    assert kinds_asked("Which term of the model table says who made it?") is None
    # what sets the table aside, and an analogy, ask for the prose
    assert kinds_asked("How does the article describe LoRA outside the table?") == {"concept", "glossary", "section"}
    assert kinds_asked("Apart from its row in the model table, where does DALL-E come up?") == {"concept", "glossary", "section"}
    assert kinds_asked("In the article's Google comparison, which step is generation?") == {"concept", "glossary", "section"}
    assert kinds_asked("Is a newer version of it mentioned anywhere in the article?") == {"concept", "glossary", "section"}
    question = "I describe a scene in a sentence and want a short animated clip from it. Which of the numbered concepts is that?"
    kinds = [p.kind for p in assistant.retrieve(question, k=3)]
    assert kinds == ["concept"] * 3, kinds


def test_an_ask_of_field_words_only_is_searched_by_the_message_around_it(assistant):
    """ "What idea is that explaining?" says nothing of what is asked (its "explaining" is closest to Explainable AI):
    the sentence before it, which describes the passage, is what is searched."""
    question = "The article mentions a child who recombines building blocks into new toys. What idea is that explaining?"
    assert assistant.trace(question).passages[0].entry_id == "compositionality"


def test_model_table_reads_a_creator_by_its_initials_as_the_same_creator(assistant):
    """The table writes Carnegie Mellon University in full for OpenPose and as "CMU" for XLNet: either name finds both
    rows, a list of the creator's rows is labelled with its full name, and other creators keep their own rows."""
    table = ModelTable(assistant.snapshot.nodes)
    for question in ("Which models did CMU make?", "Which rows in the table come from Carnegie Mellon University?",
                     "List everything the table credits to Carnegie Mellon."):
        found = table.match(question)
        assert found and {n.metadata["entry_id"] for n in found.nodes} == {"openpose", "xlnet"}, question
        assert found.creator == "Carnegie Mellon University", question
    brain = table.match("Which models did Google Brain make?")  # Google Brain's rows, CMU's full name aside
    assert brain and {n.metadata["entry_id"] for n in brain.nodes} == {"transformer", "reformer", "xlnet"}
    assert set(table.initials) == {"cmu"}  # no other creator is written as initials elsewhere



def test_gate_a_subject_attached_to_a_follow_up_does_not_vouch_for_its_own_words(assistant):
    """A condensed follow-up carries its subject as "(about X)", which draws X's passages: a question whose own words
    are mostly ones the material never uses is about something else, whatever subject was attached. A real follow-up
    brings little of its own ("and the payoff?"), and still passes."""
    for question in ("How do I get a rusted bolt loose (about Feature Extraction)?",
                     "What's the difference between a latte and a flat white (about Perceptual Loss)?",
                     "How often should I change the water in a small fish tank (about ViT (Vision Transformer))?"):
        refused = assistant.trace(question)
        assert not refused.answerable and "does not mention" in refused.reason, question
    assert "“rusted”" in assistant.trace("How do I get a rusted bolt loose (about Feature Extraction)?").reason  # its first
    for question in ("and the payoff (about Data Augmentation)?", "why would anyone bother (about Knowledge Distillation)?",
                     "and what does an ordinary network do in that picture (about Transformers)?"):
        assert assistant.trace(question).answerable, question
