"""The one served app (``python -m assistant serve``): the Gradio UI at ``/``, the OpenAI-compatible
API under ``/v1``, REST under ``/api``, MCP (streamable HTTP) at ``/mcp`` and the API docs at
``/docs`` — all over one Assistant, so one local LLM. :func:`build_app` wires it, :func:`serve`
runs it with uvicorn, :class:`ServerThread` runs it in a thread (tests, bench)."""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from mcp.server.transport_security import TransportSecuritySettings
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Route

from assistant.config import Settings
from assistant.conversations import ConversationStore, ConversationStoreError, StoreAccess
from assistant.errors import AssistantError, ConfigError
from assistant.server import chats, openai_compat, rest
from assistant.server.mcp_server import build_mcp
from assistant.server.routing import error_response, http_error
from assistant.server.security import ServeGuard, check_exposure, is_api, split_list
from assistant.server.service import ApiService

if TYPE_CHECKING:
    from assistant.api import Assistant

DESCRIPTION = ("Answers about 'Generative AI – All you need to know' with citations whose quotes are verified "
               "verbatim in the article. `/v1`: OpenAI-compatible; `/api`: REST; `/mcp`: MCP (streamable HTTP).")


def build_app(assistant: Assistant, settings: Settings, ui: bool = True, conversations: StoreAccess | None = None) -> FastAPI:
    """The FastAPI app over an opened Assistant; ``ui=False`` leaves the Gradio UI out. The UI and the APIs
    keep chats in one store (`conversations`; default: the one DATABASE_URL names, opened on first use)."""
    conversations = conversations or StoreAccess(settings)
    service = ApiService(assistant, settings, conversations)
    mcp = build_mcp(service)
    # Stateless JSON: no per-client session kept in memory; ServeGuard already checks host, origin and size.
    mcp_http = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                       max_request_body_size=settings.api_max_body_bytes, host=settings.ui_host,
                                       transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():  # the MCP SDK's task group lives as long as the app
            yield

    app = FastAPI(title="Generative AI assistant API", description=DESCRIPTION, version="1", lifespan=lifespan,
                  docs_url="/docs", redoc_url=None, openapi_url="/api/openapi.json", swagger_ui_oauth2_redirect_url=None)
    routers = [openai_compat.router(service), rest.router(service), chats.router(service)]
    for router in routers:
        app.include_router(router)
    api_routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    app.router.routes.extend(r for r in mcp_http.routes if isinstance(r, Route))

    async def not_found(request: Request) -> Response:
        known = any(r.path_regex.match(request.url.path) for r in api_routes)
        return error_response(http_error(HTTPException(405 if known else 404)))  # 405: the path exists, not the method

    # Unknown /v1 and /api paths get the API's 404, not the UI's page (the UI is mounted at "/" below).
    for prefix in ("/v1", "/api"):
        app.add_route(prefix + "/{rest:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                      include_in_schema=False)

    @app.exception_handler(HTTPException)
    async def api_http_error(request: Request, exc: HTTPException) -> Response:
        if is_api(request.url.path):
            return error_response(http_error(exc))
        return Response(str(exc.detail), status_code=exc.status_code, headers=exc.headers)

    if ui:
        _mount_ui(app, assistant, settings, conversations)
    app.add_middleware(ServeGuard, settings=settings)
    return app


def _mount_ui(app: FastAPI, assistant: Assistant, settings: Settings, conversations: StoreAccess) -> None:
    """The Gradio UI at "/", with the options `python -m assistant ui` launches it with (login, no share,
    blocked paths, same-origin guard) where mounting takes them."""
    import gradio as gr

    from ui.app import create_app, launch_options

    options = launch_options(settings)
    accepted = inspect.signature(gr.mount_gradio_app).parameters
    gr.mount_gradio_app(app, create_app(assistant, settings, conversations), path="/",
                        **{k: v for k, v in options.items() if k in accepted and k not in ("app", "blocks", "path")})


def uvicorn_config(app: Any, host: str, port: int, trusted_proxies: str = "") -> Any:
    """How the app is served: no access log (URLs may carry secrets), X-Forwarded-For honoured only from
    the trusted proxies (UI_TRUSTED_PROXIES; none by default, S12)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                          timeout_graceful_shutdown=10, server_header=False,
                          forwarded_allow_ips=",".join(split_list(trusted_proxies)) or "0.0.0.0/32")


class ServerThread:
    """The app served by uvicorn from a daemon thread (tests and the bench); ``stop()`` shuts it down."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, trusted_proxies: str = ""):
        import socket

        import uvicorn

        if not port:
            with socket.socket() as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn_config(app, host, port, trusted_proxies))
        self.thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)

    def start(self, timeout: float = 60) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _say(message: str) -> None:
    print(message, flush=True)


def serve(settings: Settings) -> int:
    """Open the assistant (building the index and starting the LLM if needed) and serve the UI, the
    APIs and MCP on UI_HOST:UI_PORT until SIGINT/SIGTERM; the LLM server is stopped on every way out."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from ui.app import launch_options

    problems = []
    for check in (launch_options, check_exposure):  # a non-loopback UI needs UI_AUTH, and the APIs need API_KEYS
        try:
            check(settings)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        print(f"error: {' '.join(problems)}", file=sys.stderr)
        return 2
    import uvicorn

    from assistant.api import Assistant

    def stop(*_: object) -> None:  # until uvicorn takes over the signals (and after it re-raises them)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:  # a bad DATABASE_URL stops here; a failing database is only a warning: answers go on, chats go unsaved
        store: ConversationStore | None = ConversationStore.from_settings(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConversationStoreError as exc:
        store = None
        print(f"warning: {exc}", file=sys.stderr)
    conversations = StoreAccess(settings, store)  # tried again on use while it fails
    try:
        _say("opening the index…")
        with Assistant.from_settings(settings) as assistant:
            if assistant.index_size == 0:
                _say("building the index… (first run only)")
                _say(assistant.ingest(progress=True).summary())
            _say(f"starting the local LLM… ({settings.llm_model_name})" if settings.llm_provider == "local"
                 else f"connecting to the LLM at {assistant.llm.url} ({settings.llm_model_name})…")
            health = assistant.start_llm()  # never raises
            if health.llm_state != "ready":
                print(f"warning: the LLM is {health.llm_state}: {health.llm_error} "
                      "Answers will quote the sources until it is available.", file=sys.stderr)
            app = build_app(assistant, settings, conversations=conversations)
            base = f"http://{settings.ui_host}:{settings.ui_port}"
            _say(f"serving at {base}: UI /, OpenAI-compatible {base}/v1, REST {base}/api, MCP {base}/mcp, docs {base}/docs "
                 "(Ctrl-C to stop)")
            server = uvicorn.Server(uvicorn_config(app, settings.ui_host, settings.ui_port, settings.ui_trusted_proxies))
            try:
                server.run()
            except SystemExit:  # uvicorn exits when it cannot bind or start; the Assistant is still closed
                print(f"error: could not serve on {settings.ui_host}:{settings.ui_port} (is the port in use?)", file=sys.stderr)
                return 1
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        conversations.close()
    _say("stopped")
    return 0
