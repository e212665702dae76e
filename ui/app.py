"""Gradio web UI: a thin adapter over :class:`assistant.Assistant`, wired here.

Layout: status line (LLM state, index size); the owner's stored chats (``#conversations``: open,
rename, delete, export, ``#new-chat``); the chat (streamed draft replaced by the verified answer,
👍/👎 under every answer, a reason and comment form), example questions; and a source panel
showing each cited passage with its verified quote highlighted. The jobs live apart: rendering
(``ui.render``), handlers and session state (``ui.handlers``), the chat list (``ui.chats``), web
security (``ui.security``); this module builds the
``gr.Blocks`` (``create_app``) with its launch options; ``assistant.server.app`` serves it beside the
APIs (``python -m assistant ui`` / ``serve``). gradio is imported only in here.
"""

# No `from __future__ import annotations` here: Gradio reads the handlers' `gr.Request` annotations at run time.
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import PROJECT_DIR, Settings
from assistant.conversations.records import REASONS
from assistant.errors import ConfigError
from ui.chats import Chats
from ui.handlers import ChatUI, Session, owner_of
from ui.render import NO_SOURCES, render_warning
from ui.security import WebGuard, allowed_hosts, client_id, is_loopback, parse_auth, trust_proxies

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.conversations import StoreAccess

TITLE = "Generative AI — ask the article"
BROWSER_KEY = "genai-assistant-owner"  # where the browser keeps its owner id (localStorage)
CSS_PATH = Path(__file__).parent / "assets" / "style.css"
EXAMPLES = (
    "What is a variational autoencoder?",
    "Which models did NVIDIA create?",
    "How do diffusion models generate images?",
    "Who created Whisper?",
)


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``; refuses a non-loopback bind without UI_AUTH (S7)."""
    from starlette.middleware import Middleware

    auth = parse_auth(settings.ui_auth.get_secret_value())
    if not is_loopback(settings.ui_host) and not auth:
        raise ConfigError(f"Refusing to serve the UI on {settings.ui_host} without a login: set UI_AUTH=user:password, "
                          "or UI_HOST=127.0.0.1 for local use only.")
    trust_proxies(settings.ui_trusted_proxies)  # uvicorn reads it when the server starts (S12)
    guard = Middleware(WebGuard, hosts=allowed_hosts(settings.allowed_hosts, settings.ui_host), auth=bool(auth),
                       login_attempts=settings.ui_login_attempts)
    return dict(server_name=settings.ui_host, server_port=settings.ui_port, share=False, auth=auth or None,
                show_error=False, inbrowser=False, quiet=True, ssr_mode=False, mcp_server=False, pwa=False,
                enable_monitoring=False,
                blocked_paths=[str(settings.data_dir), str(PROJECT_DIR / ".env"), str(Path.cwd() / ".env")],
                max_file_size="1mb", footer_links=["gradio"], css=CSS_PATH.read_text(encoding="utf-8"),
                app_kwargs={"middleware": [guard]})


def create_app(assistant: "Assistant", settings: Settings, conversations: "StoreAccess | None" = None) -> Any:
    """Build the Gradio Blocks app (queued, not launched) around an opened Assistant; chats are kept in
    `conversations` (default: the store DATABASE_URL names, opened on first use)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    ui = ChatUI(assistant, settings, conversations)
    chats = Chats(ui)
    # Exported files are copied into Gradio's cache to be served; it forgets them after an hour.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        session = gr.State(Session())
        pending = gr.State("")
        # The owner without UI_AUTH: a random id kept in the browser's localStorage, made when its first
        # answer is saved (ui.handlers.owner_of). The key and the "secret" are fixed, so the id survives
        # restarts (BrowserState only obfuscates: its secret is in the page).
        browser = gr.BrowserState(None, storage_key=BROWSER_KEY, secret=BROWSER_KEY)
        gr.Markdown(f"## {TITLE}\nAnswers come only from the article, with every citation checked against its passage.")
        status = gr.HTML(ui.status(), elem_id="status")
        with gr.Row():
            with gr.Column(scale=1, min_width=220, elem_id="sidebar"):
                new_chat = gr.Button("+ New chat", elem_id="new-chat", size="sm")
                warning = gr.HTML("", elem_id="conversation-warning", visible=False)
                chat_list = gr.Radio(choices=[], value=None, label="Your chats", elem_id="conversations")
                title = gr.Textbox(label="Title of this chat", elem_id="rename-title", max_lines=1,
                                   max_length=120, placeholder="Saved with its first answer")
                with gr.Row():
                    rename = gr.Button("Rename", elem_id="rename", size="sm", min_width=60)
                    delete = gr.Button("Delete", elem_id="delete-chat", size="sm", variant="stop", min_width=60)
                with gr.Row():
                    export_md = gr.DownloadButton("⤓ Markdown", elem_id="export-md", size="sm", interactive=False, min_width=60)
                    export_json = gr.DownloadButton("⤓ JSON", elem_id="export-json", size="sm", interactive=False, min_width=60)
                chat_note = gr.Markdown("", elem_id="chat-note")
            with gr.Column(scale=3):
                chat = gr.Chatbot(elem_id="chat", label="Chat", height=520, sanitize_html=True, render_markdown=True,
                                  latex_delimiters=[], allow_tags=False, buttons=[], feedback_options=("Like", "Dislike"),
                                  autoscroll=True)
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about generative AI…", show_label=False, elem_id="question",
                                     scale=5, lines=1, max_lines=4, autofocus=True)
                    send = gr.Button("Send", variant="primary", elem_id="send", scale=1, min_width=80)
                with gr.Row(elem_id="examples"):
                    example_buttons = [gr.Button(q, size="sm", elem_classes=["ga-example"]) for q in EXAMPLES]
                with gr.Row(elem_id="feedback", equal_height=True):
                    reason = gr.Dropdown(choices=[(label, code) for code, label in REASONS.items()], value=None,
                                         label="Why? (the answer you rated last)", elem_id="feedback-reason", scale=2)
                    comment = gr.Textbox(label="Comment (optional)", elem_id="feedback-text", lines=1, max_lines=4,
                                         max_length=settings.feedback_max_chars, scale=3)
                    send_feedback = gr.Button("Send feedback", elem_id="feedback-send", size="sm", scale=1, min_width=90)
                note = gr.Markdown("", elem_id="feedback-note")
            with gr.Column(scale=2):
                sources = gr.HTML(NO_SOURCES, elem_id="sources", label="Sources")

        side = [chat_list, title, warning, export_md, export_json]
        view = [chat, sources, chat_note, *side]

        def warned(state: Session) -> Any:
            return gr.update(value=render_warning(state.warning), visible=bool(state.warning))

        def exported(owner: str | None, state: Session) -> tuple:
            files = chats.exports(owner, state)
            return (gr.update(value=files.markdown, interactive=files.markdown is not None),
                    gr.update(value=files.json, interactive=files.json is not None))

        def sidebar(owner: str | None, state: Session) -> tuple:
            """The list (the open chat selected), its title, the warning and the export files."""
            listing, files = chats.listing(owner, state), exported(owner, state)
            return (gr.update(choices=listing.choices, value=listing.selected), state.title, warned(state), *files)

        def shown(owner: str | None, state: Session, message: str) -> tuple:
            thumbs = {"up": "Like", "down": "Dislike"}  # the stored votes, on the thumbs under each answer
            rated = [thumbs.get(state.votes.get(i or "", "")) for m, i in zip(state.messages, state.ids, strict=True)
                     if m["role"] == "assistant"]
            messages = gr.update(value=[dict(m) for m in state.messages], feedback_value=rated)
            return (messages, state.sources, message, *sidebar(owner, state))

        def start(state: Session, value: Any, request: gr.Request):
            return sidebar(owner_of(request.username, value, state), state)

        def respond(question: str, state: Session, value: Any, request: gr.Request):
            owner = owner_of(request.username, value, state, create=True)  # the first answer saved makes the browser's id
            known = state.browser if not request.username and state.browser != value else gr.skip()
            last: tuple = (gr.skip(),) * 3
            for chat_, sources_, state_, box_ in ui.respond(question, state, client_id(request), taken=True, owner=owner):
                yield chat_, sources_, state_, gr.skip() if box_ is None else box_, *[gr.skip()] * len(side), known
                last, known = (chat_, sources_, state_), gr.skip()
            # The list, title, warning and exports follow the stored answer; the final event holds the whole chat.
            yield *last, gr.skip(), *sidebar(owner, state), gr.skip()

        def take(question: str, request: gr.Request):
            accepted, message = ui.take(question, client_id(request))
            if not accepted:
                raise gr.Error(html.escape(message), print_exception=False)  # the question stays in the box
            return question  # it travels in `pending`; the box is cleared when the answer begins

        # One named concurrency group for every way of asking (Enter, Send, examples), so UI_CONCURRENCY
        # is one limit for all of them (L1, L3); Gradio would otherwise group events by function identity.
        answer = dict(fn=respond, inputs=[pending, session, browser], outputs=[chat, sources, session, box, *side, browser],
                      show_progress="hidden", api_visibility="private", concurrency_id="chat")
        # The status line is refreshed after every answer: it shows the LLM's state and why it is down.
        refresh: dict[str, Any] = dict(fn=ui.status, inputs=None, outputs=status, queue=False, api_visibility="private")
        box.submit(take, [box], [pending], queue=False, api_visibility="private").success(**answer).then(**refresh)
        send.click(take, [box], [pending], queue=False, api_visibility="private").success(**answer).then(**refresh)
        def example(question: str) -> Any:
            def ask_example(request: gr.Request) -> str:
                return take(question, request)
            return ask_example

        for button, question in zip(example_buttons, EXAMPLES, strict=True):
            button.click(example(question), None, [pending], queue=False,
                         api_visibility="private").success(**answer).then(**refresh)

        # Quick handlers skip the queue so they never wait behind slow answers (L3).
        quick: dict[str, Any] = dict(queue=False, api_visibility="private")

        def open_chat(chat_id: str | None, state: Session, value: Any, request: gr.Request):
            owner = owner_of(request.username, value, state)
            return shown(owner, state, chats.open(owner, state, chat_id))

        def start_new(state: Session, value: Any, request: gr.Request):
            return shown(owner_of(request.username, value, state), state, chats.new(state))

        def rename_chat(text: str, state: Session, value: Any, request: gr.Request):
            owner = owner_of(request.username, value, state)
            return shown(owner, state, chats.rename(owner, state, text))

        def delete_chat(state: Session, value: Any, request: gr.Request):
            owner = owner_of(request.username, value, state)
            return shown(owner, state, chats.delete(owner, state))

        def rate(state: Session, value: Any, data: gr.LikeData, request: gr.Request):
            if data.liked not in (True, False):  # a thumb taken back: the stored vote stays until another replaces it
                return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            owner = owner_of(request.username, value, state)
            index = data.index if isinstance(data.index, int) else -1
            message = ui.vote("up" if data.liked else "down", state, client_id(request), owner, index=index)
            files = exported(owner, state)  # the exports show the feedback too
            return message, warned(state), *files

        def give_feedback(code: str | None, text: str, state: Session, value: Any, request: gr.Request):
            owner = owner_of(request.username, value, state)
            message = ui.feedback(state, client_id(request), owner, code, text)
            done = message.startswith("Thanks")
            files = exported(owner, state)
            return message, gr.update(value=None) if done else gr.skip(), "" if done else gr.skip(), warned(state), *files

        demo.load(start, [session, browser], side, api_name="start", **quick)
        demo.load(ui.status, None, status, **quick)
        chat_list.input(open_chat, [chat_list, session, browser], view, api_name="open_chat", **quick)
        new_chat.click(start_new, [session, browser], view, api_name="new_chat", **quick)
        chat.clear(start_new, [session, browser], view, **quick)
        rename.click(rename_chat, [title, session, browser], view, api_name="rename_chat", **quick)
        title.submit(rename_chat, [title, session, browser], view, **quick)
        delete.click(delete_chat, [session, browser], view, api_name="delete_chat", **quick)
        downloads = [export_md, export_json]
        chat.like(rate, [session, browser], [note, warning, *downloads], api_name="vote", **quick)
        send_feedback.click(give_feedback, [reason, comment, session, browser], [note, reason, comment, warning, *downloads],
                            api_name="feedback", **quick)
    demo.queue(default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_max_queue, api_open=False)
    return demo
