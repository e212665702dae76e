"""Web UI for the assistant (Gradio). `ui.app.create_app(assistant, settings)` builds it; `ui.app.main(settings)` runs it.

Importing `ui` or `ui.app` does not import gradio; only building or launching the app does.
"""
