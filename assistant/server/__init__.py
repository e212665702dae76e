"""The assistant served to other clients: one FastAPI app with the Gradio UI at ``/``, an
OpenAI-compatible API under ``/v1``, REST under ``/api`` and MCP (streamable HTTP) at ``/mcp``;
``python -m assistant mcp`` serves the same MCP tools over stdio.

Modules: ``service`` (what every protocol calls: one Assistant, one admission limit, one JSON shape
of citations), ``openai_compat`` and ``rest`` (the HTTP routers), ``mcp_server`` (the MCP tools),
``security`` (keys, rate limit, body size, host/origin checks, CORS), ``errors`` (errors as HTTP
statuses with OpenAI-style bodies), ``app`` (building and running the app), ``bench`` (API
overhead and throughput). fastapi, gradio and mcp are imported only in here.
"""
