"""Gradio web UI: a thin adapter over :class:`assistant.Assistant`, wired here.

Layout: status line (LLM state, index size), chat (streamed draft replaced by the verified
answer), example questions, feedback thumbs, and a source panel showing each cited passage with
its verified quote highlighted. The jobs live apart: rendering (``ui.render``), handlers and
session state (``ui.handlers``), web security (``ui.security``); this module builds the
``gr.Blocks`` (``create_app``) with its launch options; ``assistant.server.app`` serves it beside the
APIs (``python -m assistant ui`` / ``serve``). gradio is imported only in here.
"""

# No `from __future__ import annotations` here: Gradio reads the handlers' `gr.Request` annotations at run time.
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import PROJECT_DIR, Settings
from assistant.errors import ConfigError
from ui.handlers import ChatUI, Session
from ui.render import NO_SOURCES
from ui.security import WebGuard, allowed_hosts, client_id, is_loopback, parse_auth, trust_proxies

if TYPE_CHECKING:
    from assistant.api import Assistant

TITLE = "Generative AI — ask the article"
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


def create_app(assistant: "Assistant", settings: Settings) -> Any:
    """Build the Gradio Blocks app (queued, not launched) around an opened Assistant."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    ui = ChatUI(assistant, settings)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(Session())
        pending = gr.State("")
        gr.Markdown(f"## {TITLE}\nAnswers come only from the article, with every citation checked against its passage.")
        status = gr.HTML(ui.status(), elem_id="status")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(elem_id="chat", label="Chat", height=520, sanitize_html=True, render_markdown=True,
                                  latex_delimiters=[], allow_tags=False, buttons=[], feedback_options=None,
                                  autoscroll=True)
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about generative AI…", show_label=False, elem_id="question",
                                     scale=5, lines=1, max_lines=4, autofocus=True)
                    send = gr.Button("Send", variant="primary", elem_id="send", scale=1, min_width=80)
                with gr.Row(elem_id="examples"):
                    example_buttons = [gr.Button(q, size="sm", elem_classes=["ga-example"]) for q in EXAMPLES]
                with gr.Row():
                    up = gr.Button("👍 Helpful", size="sm", elem_id="vote-up", min_width=90, scale=0)
                    down = gr.Button("👎 Not helpful", size="sm", elem_id="vote-down", min_width=110, scale=0)
                    note = gr.Markdown("", elem_id="feedback-note")
            with gr.Column(scale=2):
                sources = gr.HTML(NO_SOURCES, elem_id="sources", label="Sources")

        def respond(question: str, state: Session, request: gr.Request):
            for chat_, sources_, state_, box_ in ui.respond(question, state, client_id(request), taken=True):
                yield chat_, sources_, state_, gr.skip() if box_ is None else box_

        def take(question: str, request: gr.Request):
            accepted, message = ui.take(question, client_id(request))
            if not accepted:
                raise gr.Error(html.escape(message), print_exception=False)  # the question stays in the box
            return question  # it travels in `pending`; the box is cleared when the answer begins

        # One named concurrency group for every way of asking (Enter, Send, examples), so UI_CONCURRENCY
        # is one limit for all of them (L1, L3); Gradio would otherwise group events by function identity.
        answer = dict(fn=respond, inputs=[pending, session], outputs=[chat, sources, session, box],
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
        def vote(direction: str) -> Any:
            def cast(state: Session, request: gr.Request) -> str:
                return ui.vote(direction, state, client_id(request))
            return cast

        up.click(vote("up"), [session], [note], api_name="vote_up", **quick)
        down.click(vote("down"), [session], [note], api_name="vote_down", **quick)
        chat.clear(lambda: (Session(), NO_SOURCES, ""), None, [session, sources, note], **quick)
        demo.load(ui.status, None, status, **quick)
    demo.queue(default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_max_queue, api_open=False)
    return demo
