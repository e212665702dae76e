"""intent.analyze: what a question asks, read before retrieval (on the real index's names and model table)."""

from __future__ import annotations

import pytest

from assistant.intent import Kind, analyze, definition_term, topic_phrase
from assistant.stages import NodeView


@pytest.fixture(scope="module")
def reader(indexed_dir, embed_model):
    from tests.conftest import make_settings, open_assistant

    a = open_assistant(make_settings(indexed_dir), embed_model)
    yield lambda q: analyze(q, a._require_index().retriever.names, a._require_index().table)
    a.close()


@pytest.mark.parametrize(("question", "kind", "subject"), [
    ("Who created Whisper?", Kind.CREATOR, "whisper"),
    ("Which company made StyleGAN?", Kind.CREATOR, "stylegan"),
    ("What does WaveNet generate?", Kind.OUTPUT, "wavenet"),
    ("Which company came up with RoBERTa?", Kind.CREATOR, "roberta"),
    ("Does Whisper generate images?", Kind.OUTPUT, "whisper"),  # a yes/no question about the output
    ("does LangChain write code as well?", Kind.OUTPUT, "langchain"),  # writing is making, for a yes/no too
    ("Can LoRA make code?", Kind.OUTPUT, "lora"),
    # two modifiers of one noun name two entries
    ("What's the difference between self-supervised and unsupervised learning?", Kind.COMPARE, "self-supervised-learning"),
    ("What is a variational autoencoder?", Kind.DEFINITION, "variational-autoencoders-vaes"),
    ("what is lora", Kind.DEFINITION, "lora"),  # an all-lower-case question matches acronyms in any case
    ("How does a VAE differ from a GAN?", Kind.COMPARE, "variational-autoencoders-vaes"),
    ("is quantization just another way of doing the same thing (about Knowledge Distillation)?", Kind.COMPARE, "quantization"),
    # a comparison of two prose entries is no list of rows, whatever words of the table it uses
    ("What models do Image to Image and Text to Video differ in?", Kind.COMPARE, "image-to-image"),
    ("Which number does AnimateDiff have in the concepts list?", Kind.NUMBER, "animatediff"),
    ("Why do GANs need a discriminator?", Kind.EXPLAIN, None),
    # something unnamed in a named entry's context is no definition of that entry
    ("What is the role of attention in transformers?", Kind.EXPLAIN, "transformers"),
    ("What is the generator in adversarial training?", Kind.EXPLAIN, "adversarial-training"),
    ("what is a discriminator in a GAN", Kind.OTHER, None),
    ("What is the key innovation behind transformers?", Kind.EXPLAIN, "transformers"),  # a side of the entry
    ("Is BERT a model or a technique?", Kind.DEFINITION, "bert"),  # what kind of thing it is
    ("Is GPT-2 a model?", Kind.DEFINITION, "gpt-2"),
    # a yes/no question naming a model and one of the table's creators asks who made it
    ("Is DeBERTa a Google model?", Kind.CREATOR, "deberta"),
    ("Did Meta make LLaMA?", Kind.CREATOR, "llama"),
    # a yes/no question naming a model and an output, and nothing else, asks what it generates
    ("Is GPT-3 a text model?", Kind.OUTPUT, "gpt-3-gpt-4"),
    ("Is DETR an image generator?", Kind.OUTPUT, "detr"),
    ("BLOOM shows up in the model table. Is it an image generator or a text one?", Kind.OUTPUT, "bloom"),
    ("Is Whisper trained on hours of audio?", Kind.OTHER, "whisper"),  # "hours": something else is asked
    # whether a model is a kind of thing, named by an output or another model: its row says what it generates
    ("Is DeepMind Lab a game-playing agent?", Kind.OUTPUT, "deepmind-lab"),
    ("Is MAUVE a text generator like GPT-2?", Kind.OUTPUT, "mauve"),
    ("Is DALL-E an open-source model?", Kind.OTHER, "dall-e"),  # no output named: its row cannot tell
    # a statement asked with a tag, and a creator's possessive
    ("whisper = speech to text right??", Kind.OUTPUT, "whisper"),
    ("LoRA is from Microsoft, isn't it?", Kind.CREATOR, "lora"),
    # a maker called otherwise ("outfit", "institute"), the creator column, "same creator" without "the"
    ("GPT-NeoX: which outfit does the table credit for it?", Kind.CREATOR, "gpt-neox"),
    ("ELMo: which institute is it from, and what kind of output is it listed with?", Kind.CREATOR, "elmo"),
    ("Which LLaMA row mentions Facebook in its creator column?", Kind.CREATOR, "llama"),
    ("deberta and roberta sound like siblings. same creator in the table or not?", Kind.CREATOR, "deberta"),
    ("and the T-NLG row further down, who's that from?", Kind.CREATOR, "t-nlg"),  # the clause after the lead-in
    # a claim about a maker to check
    ("My friend says Whisper was made by Google. Is that right?", Kind.CREATOR, "whisper"),
    ("Is AlphaFold one of DeepMind's game-playing systems?", Kind.CREATOR, "alphafold"),
    # a question about a model's row asks for the whole row
    ("What is the ViT row in the table about?", Kind.CREATOR, "vit-vision-transformer"),
    ("What does the table say about BLOOM?", Kind.CREATOR, "bloom"),
    # a group named with a word before it
    ("which Google group made Reformer?", Kind.CREATOR, "reformer"),
    ("who's Tesseract OCR from?", Kind.CREATOR, "tesseract-ocr"),
    ("Does the table credit BigBird and Reformer to the same Google group?", Kind.CREATOR, "bigbird"),
    # other words for who made it, and for the output column
    ("which organisation does the table give for DiffusionBee, and is it an image tool?", Kind.CREATOR, "diffusionbee"),
    # a yes/no question whose subject is a named model asks about it, no list of its creator's rows
    ("is T5 one of google's models?", Kind.CREATOR, "t5"),
    ("Is MiniLM a text model or a vision one?", Kind.OUTPUT, "minilm"),  # either kind
    ("WaveNet and Tacotron make sound. Which lab does each come from, and what do they output?", Kind.CREATOR, "tacotron"),
    # "which company is X's row" asks for one row, no list (only "which row" does)
    ("In the model table, which company is BERT's row credited to, and is it a text or an image model?", Kind.CREATOR,
     "bert"),
    ("Tesseract OCR: who does the list say it belongs to?", Kind.CREATOR, "tesseract-ocr"),
    ("DeepMind Lab: what's in its Generates column?", Kind.OUTPUT, "deepmind-lab"),
    ("Is writing a prompt the same thing as prompt tuning?", Kind.COMPARE, "prompt-tuning"),
    ("What is LangChain listed as producing?", Kind.OUTPUT, "langchain"),  # "listed as/for" asks for its output
    ("What's ESPnet listed for?", Kind.OUTPUT, "espnet"),
    ("MUM - what does that stand for, going by the table?", Kind.DEFINITION, "mum"),  # its output cell spells it out
    ("What does DeiT stand for?", Kind.DEFINITION, "deit-data-efficient-image-transformer"),  # its title does
    ("Didn't Craiyon go by another name?", Kind.DEFINITION, "craiyon-dall-e-mini"),  # its title gives it
    ("Which company is ELECTRA from?", Kind.CREATOR, "electra"),
    ("Do ERNIE and PanGu-α come from the same company?", Kind.CREATOR, "pangu-alpha"),
    ("What are the two phases (about Diffusion models)?", Kind.EXPLAIN, "diffusion-models"),  # a condensed follow-up
    # more words for who made it: "attributed to", "the organisation behind", "who is each from" after a statement
    ("Which company is Stable Diffusion attributed to?", Kind.CREATOR, "stable-diffusion"),
    ("For a citation I need the organisation behind LangChain. Which one does the article's table give?", Kind.CREATOR,
     "langchain"),
    ("WaveNet and Tacotron both make sound. Who is each from, and how does the table describe their output?", Kind.CREATOR,
     "tacotron"),
    # something of a model's own is no definition of the model; its "main idea" still asks what it is
    ("What was AlphaStar's win rate against professional teams?", Kind.OTHER, "alphastar"),
    ("What is StyleGAN's main idea?", Kind.DEFINITION, "stylegan"),
    # "put next to", "is it theirs": who made it
    ("Which lab does the table put next to RAG, and what kind of output is listed for it?", Kind.CREATOR, "rag"),
    ("GPT-J sounds like an OpenAI name. Is it theirs, going by the table?", Kind.CREATOR, "gpt-j"),
    # "who's X by?" asks who made it (not who uses it); "Is X listed for ...?" asks for its output, however long
    ("who's AI Dungeon by?", Kind.CREATOR, "ai-dungeon"),
    ("who put Laion-400M together?", Kind.CREATOR, "laion-400m"),
    ("who's listed as making MAUVE?", Kind.CREATOR, "mauve"),
    ("Is Midjourney from one of the big tech companies, going by the table?", Kind.CREATOR, "midjourney"),
    ("Who is GPT-3 used by?", Kind.OTHER, "gpt-3-gpt-4"),
    ("Is MuZero listed for game strategies in general or for one particular board game?", Kind.OUTPUT, "muzero"),
    # what the table lists it as doing / says it is for / its output column, after a sentence naming the model
    ("My side project might use Tacotron. What does the table list it as doing?", Kind.OUTPUT, "tacotron"),
    ("What about BigBird, is that one Google's too?", Kind.CREATOR, "bigbird"),  # a creator's possessive
    ("A friend mentioned DETR. What does the model table say it's for?", Kind.OUTPUT, "detr"),
    ("what exactly does MuZero's output column say?", Kind.OUTPUT, "muzero"),
    # the output asked in other words: "listed for", "an image generator"; the creator: "share a creator"
    ("Perceiver shows up in the table. Which kinds of data is it listed for?", Kind.OUTPUT, "perceiver"),
    ("is GauGAN an image generator as well?", Kind.OUTPUT, "gaugan"),
    ("Do ELECTRA and Tacotron share a creator in the table?", Kind.CREATOR, "electra"),
    ("Fill in the blank: Reformer was created by ___.", Kind.CREATOR, "reformer"),
    ("and BigBird, is it from Google Brain?", Kind.CREATOR, "bigbird"),
    # one model as the table gives it, no list of rows
    ("Does the table list CLIPper as an image tool, a text tool, or both?", Kind.OUTPUT, "clipper"),
    # the user generates, not the model: no question about an output
    ("What does the 'CLIP skip' setting change when I generate images in Stable Diffusion?", Kind.OTHER, "stable-diffusion"),
])
def test_kinds_and_subjects(reader, question, kind, subject):
    intent = reader(question)
    assert intent.kind is kind, intent
    assert subject is None or subject in intent.subjects


def test_a_follow_up_condensed_onto_a_model_row_is_about_that_row(reader):
    """ "so no company at all?" after U-Net's row asks about U-Net's creator cell, not for the rows without one."""
    intent = reader("no company at all (about U-Net)?")
    assert intent.table is None and "u-net" in intent.subjects
    assert reader("Is there any row in the model table where the creator column is left empty?").table is not None


def test_whether_the_table_has_rows_of_a_creator_or_one_row_of_an_output_asks_for_them(reader):
    universities = reader("Are any universities credited in the model table?")
    assert universities.kind is Kind.LIST and universities.table is not None
    assert [n.metadata["entry_id"] for n in universities.table.nodes] == ["openpose", "xlnet"]  # "CMU" is the university too
    code = reader("Which row in the table is listed for 'Code Generation' specifically?").table
    assert code is not None and [n.metadata["entry_id"] for n in code.nodes] == ["codexglm"]


def test_rows_of_a_property_of_the_table_itself(reader):
    """The article's quirks asked as list questions: a name that appears twice, a creator cell left empty."""
    twice = reader("Which model name shows up twice in the table, with a different output each time?").table
    assert twice is not None and [n.metadata["entry_id"] for n in twice.nodes] == ["beit", "beit-2"]
    empty = reader("Is there any row in the model table where the creator column is simply left empty?").table
    assert empty is not None and [n.metadata["entry_id"] for n in empty.nodes] == ["langchain"]
    whisper = reader("Does Whisper appear more than once in the list?").table
    assert whisper is not None and {n.metadata["entry_id"] for n in whisper.nodes} == {"whisper", "whisper-ai"}


def test_what_a_model_is_asked_to_make_is_read_as_the_users_words(reader):
    """"pictures" is what GPT-4 is asked to make: its row answers, whatever the user calls the output."""
    intent = reader("Does the table say GPT-4 makes pictures?")
    assert intent.kind is Kind.OUTPUT and intent.term == "pictures"
    assert reader("Does Midjourney generate images that are copyrighted?").term == ""  # more than an output
    # where the user looked is not what is made
    assert reader("Does AI Dungeon make pictures, according to the table?").term == "pictures"


def test_the_articles_conclusion_and_introduction_are_its_last_and_first_sections(reader):
    assert reader("What attitude does the article's conclusion ask readers to take?").subjects == (
        "challenges-and-ethical-considerations",)
    assert reader("What does the introduction say generative AI is?").subjects[0] == "generative-ai-all-you-need-to-know"


def test_a_heading_over_a_few_entries_names_each_of_them(reader):
    """"Key Components of Generative AI" groups two entries only: naming it names both."""
    intent = reader("What are the two key components of generative AI named in the article?")
    assert {"generative-models", "training-data"} <= set(intent.subjects)
    assert not {"generative-models", "training-data"} & set(reader("What is generative AI?").subjects)


def test_list_questions_filter_by_creator_and_output(reader):
    both = reader("Which image models from Google are in the table?")
    assert both.kind is Kind.LIST and both.table is not None
    assert both.table.creator == "Google" and {n.metadata["entry_id"] for n in both.table.nodes} == {"deepdream", "simclr"}
    game = reader("Which lab is behind the system that plays the board game Go?")
    assert game.table is not None and [n.metadata["entry_id"] for n in game.table.nodes] == ["alphago"]
    for asked in ("Name the speech models in the article's table.", "Give me all the speech models."):
        named = reader(asked).table
        assert named is not None and {n.metadata["field_generates"] for n in named.nodes} == {"Speech"}, asked
    built = reader("What has NVIDIA built according to the table?").table
    assert built is not None and built.creator == "NVIDIA" and len(built.nodes) >= 2
    # "put out" is another way of making one
    put_out = reader("What else did DeepMind put out that's about games?").table
    assert put_out is not None and {n.metadata["entry_id"] for n in put_out.nodes} == {"muzero", "alphago", "alphastar"}
    google = reader("What has Google put out for images?").table
    assert google is not None and {n.metadata["entry_id"] for n in google.nodes} == {"deepdream", "simclr"}
    owned = reader("What does the table say about EleutherAI's models?").table
    assert owned is not None and {n.metadata["field_creator"] for n in owned.nodes} == {"EleutherAI"}
    speech = reader("Which text-to-speech models are there?").table  # "X-to-Y" asks for what they generate: Y
    assert speech is not None and {n.metadata["field_generates"] for n in speech.nodes} == {"Speech"}
    # other words for rows, "did X make anything", a creator quoted as the table writes it
    brain = reader("Which Google Brain projects appear in the model table?").table
    assert brain is not None and {n.metadata["field_creator"] for n in brain.nodes} == {"Google Brain", "Google Brain & CMU"}
    anything = reader("Did Microsoft also make anything for speech?").table
    assert anything is not None and [n.metadata["entry_id"] for n in anything.nodes] == ["fastspeech"]
    specific = reader("Is anything in the table credited to Microsoft Research specifically, not just Microsoft?").table
    assert specific is not None and {n.metadata["field_creator"] for n in specific.nodes} == {"Microsoft Research"}
    research = reader("Does the table list anything from Google Research?").table  # named in full: not every Google row
    assert research is not None and {n.metadata["field_creator"] for n in research.nodes} == {"Google Research"}
    has = reader("Does Facebook AI have an image-classification model in the table?").table
    assert has is not None and {n.metadata["field_generates"] for n in has.nodes} == {"Image Classification"}
    various = reader("Which table rows give 'Various' as the creator?").table
    assert various is not None and various.creator == "Various"
    assert {n.metadata["field_creator"] for n in various.nodes} == {"Various"} and len(various.nodes) >= 2
    # rows set aside are not listed; the most specific category named wins ("game strategy" is inside it)
    others = reader("Which models other than AlphaStar generate Real-time Strategy Game Play?").table
    assert others is not None and [n.metadata["entry_id"] for n in others.nodes] == ["openai-five"]
    besides = reader("Besides DALL·E, which OpenAI models generate images?").table
    assert besides is not None and "dall-e" not in {n.metadata["entry_id"] for n in besides.nodes} and besides.nodes
    # a name of its own that no row holds is what is asked about, not a filter's leftover
    assert reader("What does Meta's Segment Anything model do?").kind is not Kind.LIST
    # a set-aside clause that describes rows: not a filter, and those rows are left out
    deepmind = reader("Apart from its game-playing systems, what else does the table credit to DeepMind?").table
    assert deepmind is not None and {"alphafold", "wavenet"} <= {n.metadata["entry_id"] for n in deepmind.nodes}
    assert not any("Game" in n.metadata["field_generates"] for n in deepmind.nodes)
    plain = reader("Which entries in the table have plain 'Image' as their output?").table  # quoted: that very cell
    assert plain is not None and {n.metadata["field_generates"] for n in plain.nodes} == {"Image"} and len(plain.nodes) > 5
    written = reader("Which table entries are listed as producing Image & Text?").table  # a cell written out in full
    assert written is not None and {n.metadata["field_generates"] for n in written.nodes} == {"Image & Text"}
    # what the table credits to a creator; an ask after a sentence that only says what the user wants
    credited = reader("What does the table credit to Google Brain?").table
    assert credited is not None
    assert {n.metadata["field_creator"] for n in credited.nodes} == {"Google Brain", "Google Brain & CMU"}
    code = reader("I want something that writes programs. Which rows in the table have code in their output column?").table
    assert code is not None and {"codex", "copilot", "codexglm"} <= {n.metadata["entry_id"] for n in code.nodes}
    translation = reader("Is there a translation model in the table?").table  # whether it has rows of an output
    assert translation is not None and [n.metadata["entry_id"] for n in translation.nodes] == ["m2m-100"]
    mixed = reader("Which entries in the table produce both images and text?").table
    assert mixed is not None and all("Image" in n.metadata["field_generates"] and "Text" in n.metadata["field_generates"]
                                     for n in mixed.nodes)


def test_list_by_what_the_names_hold(reader):
    """"Which models have 'Transformer' in their name?" filters the Name cell, not the topic."""
    named = reader("Which models in the table have 'Transformer' in their name?").table
    assert named is not None and named.name == "Transformer" and named.field == "name"
    ids = {n.metadata["entry_id"] for n in named.nodes}
    assert {"transformer", "swin-transformer"} <= ids and all("transformer" in n.metadata["title"].lower() for n in named.nodes)
    gpt = reader("List the rows whose name contains GPT.").table
    assert gpt is not None and "chatgpt" in {n.metadata["entry_id"] for n in gpt.nodes} and len(gpt.nodes) >= 5
    assert reader("Which models have Zorblax in their name?").table is None  # no row holds it: nothing to list
    somewhere = reader("Which entries in the model table have 'GPT' somewhere in their name?").table
    assert somewhere is not None and len(somewhere.nodes) == len(gpt.nodes)
    rows = reader("Are there any other rows with CLIP in the name?").table  # no list word needed: the filter asks
    assert rows is not None and {"CLIPper", "CLIP-ViT"} <= {n.metadata["title"] for n in rows.nodes}
    # how often a named model appears: the rows of that name (the table lists BEiT and Whisper twice)
    twice = reader("How many times does BEiT appear in the model table, and with what outputs?").table
    assert twice is not None and {n.metadata["entry_id"] for n in twice.nodes} == {"beit", "beit-2"}
    again = reader("Does Whisper appear more than once in the list?").table
    assert again is not None and {n.metadata["title"] for n in again.nodes} == {"Whisper", "Whisper AI"}
    # whether the table has something a word of some rows' names says ("OCR" is in "Tesseract OCR")
    ocr = reader("Is there an OCR tool in the model table?").table
    assert ocr is not None and ocr.name == "OCR" and [n.metadata["title"] for n in ocr.nodes] == ["Tesseract OCR"]
    assert reader("Is there an OCR tool for receipts in the model table?").table is None  # "receipts": more is asked
    assert reader("Is there a speech-to-text model in the table?").table is None  # no list of every text model


def test_list_of_what_the_table_has_for_an_output(reader):
    """"Does the table have anything for medical imaging?" asks for the rows of that output."""
    medical = reader("Does the table have anything for medical imaging?").table
    assert medical is not None and [n.metadata["entry_id"] for n in medical.nodes] == ["u-net"]


@pytest.mark.parametrize("question", [
    "Which loss function is used when training models for self-supervised learning?",  # "learning" is an output type
    "What do you call it when a model learns from one example?",
    "How do diffusion models differ from adversarial training?",
    "Can I feed an existing clip into an AI and get back a restyled clip?",  # "clip" is not CLIP
])
def test_not_a_list_question(reader, question):
    intent = reader(question)
    assert intent.kind is not Kind.LIST and "clip" not in intent.subjects


@pytest.mark.parametrize(("question", "term"), [
    ("What is tokenization?", "tokenization"),
    ("What is the capital of France?", "capital of France"),
    ("Define beam search", "beam search"),
    ("What does SD1.5 stand for?", "SD1.5"),
    ("x What is LoRA?", "LoRA"),
    ("What is the technique where a small model learns from a large one?", ""),  # a description, not a term
    ("Tell me about VAEs. How are they trained?", ""),
    ("What is DALL-E 2 based on?", ""),  # what it is based on, not what it is
    ("What does the article mean by memory or attention?", "memory or attention"),
    ("What is curriculum learning, where a model sees easy examples first?", "curriculum learning"),  # a describing clause
    ("is there any other loss function in the glossary?", ""),  # whether there is one, not what "there ..." is
])
def test_definition_terms(question, term):
    assert definition_term(question) == term


@pytest.mark.parametrize(("question", "topic"), [
    ("How does speculative decoding use a small draft model?", "speculative decoding"),
    ("How is cosine similarity used to compare two embeddings?", "cosine similarity"),
    ("How do diffusion models generate images?", "diffusion models"),
    ("How does the article suggest using LoRA to adapt GPT-3?", ""),  # what the article says: no topic of its own
    ("How does the glossary describe YOLO?", ""),
    ("What does reinforcement learning bring to generative models?", "reinforcement learning"),
    ("How do researchers put a number on how varied the content is?", ""),  # about people in general, like "you"
    # a verb ends the topic: "stop" is no word of the material, and inside the topic it read as an unknown term
    ("How does classifier guidance stop DALL-E from drifting away?", "classifier guidance"),
    ("Why does layer normalization keep training stable?", "layer normalization"),
    # a thing described by a relative clause: "shortcuts" is the asker's word for it, not a term to look up
    ("What are the shortcuts that pass a layer's output to later layers?", ""),
    ("What is the trick that steadies training by averaging the weights?", ""),
])
def test_topic_of_how_questions(question, topic):
    assert topic_phrase(question) == topic


def test_an_unnamed_term_in_a_named_context_is_what_is_asked_about(reader):
    intent = reader("what is a discriminator in a GAN")
    assert intent.subjects == () and intent.term == "discriminator"


@pytest.mark.parametrize(("question", "fields"), [
    ("Who created Whisper?", True), ("Which lab built it?", True), ("What does it generate?", True),
    ("Which company is behind StyleGAN?", True), ("Is it listed in the table?", True),
    ("What is generative AI used for?", False), ("How do generative models work?", False),
    ("Why does production quality matter?", False),
    ("What technique is Stable Diffusion built on?", False),  # what it rests on, not who built it
])
def test_questions_asking_for_a_rows_fields(question, fields):
    from assistant.intent import asks_about_fields

    assert asks_about_fields(question) is fields


def test_a_generator_is_no_verb_of_generating(reader):
    """"Can text generators like GPT-3 ..." is no yes/no question about what GPT-3 generates."""
    assert reader("Can the architecture behind text generators like GPT-3 be used on pictures?").kind is not Kind.OUTPUT


def test_one_that_does_the_same_as_the_row_discussed_lists_rows_of_its_output(reader):
    """ "and is there a Google one that does the same?" after FastSpeech (condensed onto its row) asks for Google's
    rows that generate what FastSpeech generates, not about FastSpeech itself."""
    intent = reader("and is there a Google one that does the same (about FastSpeech)?")
    assert intent.kind is Kind.LIST and intent.table is not None
    names = {NodeView.of(n).title for n in intent.table.nodes}
    assert "Tacotron" in names and "FastSpeech" not in names, names
    assert reader("so no company at all (about U-Net)?").table is None  # no "same": still about the row


def test_a_statement_about_named_models_then_an_ask_of_them_is_about_those_rows(reader):
    """ "X and Y are both DeepMind entries. What does each one produce?" asks for X's and Y's rows, not a list of
    DeepMind's; "What else do they make?" still asks for the others."""
    intent = reader("MuZero and AlphaGo are both DeepMind entries. What does each one produce?")
    assert intent.kind is Kind.OUTPUT and intent.table is None, intent.kind
    assert {"muzero", "alphago"} <= set(intent.subjects)
    assert reader("Whisper is by OpenAI. What else do they make?").kind is Kind.LIST


def test_which_thing_a_model_does_is_no_list_of_models(reader):
    """ "which role does the model play?" asks something of a model ("play" is a word of the table's outputs), not
    for the table's game-playing rows; "Which of the models does NVIDIA make?" still lists."""
    assert reader("In the iterative refinement analogy, which role am I playing, and which role does the model play?").table \
        is None
    assert reader("I keep telling the image model what to fix. Which role does the model play?").table is None
    assert reader("Which of the models does NVIDIA make?").kind is Kind.LIST


def test_everyday_words_for_an_output_select_its_rows(reader):
    """ "picture makers" are the rows that generate images, and "any other ... makers" asks for a list."""
    intent = reader("any other picture makers from independent creators?")
    assert intent.kind is Kind.LIST and intent.table is not None
    assert {"Midjourney", "BigSleep"} <= {NodeView.of(n).title for n in intent.table.nodes}
    sound = reader("Is there anything in the table that generates sound in general, not speech?")
    assert sound.table is not None and "WaveNet" in {NodeView.of(n).title for n in sound.table.nodes}
    photos, images = reader("Which models in the table generate photos?"), reader("Which models in the table generate images?")
    assert photos.table is not None and images.table is not None and photos.table.nodes == images.table.nodes


def test_a_name_itself_is_its_own_row_not_every_name_holding_it(reader):
    """ "the Transformer itself" is the Transformer row; "a Transformer" may be any row with it in its name."""
    itself = reader("Is there a row for the Transformer itself in the model table?")
    assert itself.table is not None and [NodeView.of(n).title for n in itself.table.nodes] == ["Transformer"]
    any_ = reader("Is there a Transformer in the model table?")
    assert any_.table is not None and len(any_.table.nodes) > 1
