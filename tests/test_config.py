"""Settings: defaults, validation, and the docs that mirror them (.env.example, README table)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assistant.config import PROJECT_DIR, Settings, env_example, markdown_table


def test_env_example_mirrors_settings():
    assert (PROJECT_DIR / ".env.example").read_text() == env_example()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in env_example()


def test_readme_config_table_mirrors_settings():
    assert markdown_table() in (PROJECT_DIR / "README.md").read_text()


def test_every_setting_has_a_description():
    assert all(field.description for field in Settings.model_fields.values())


def test_environment_overrides_and_validation(monkeypatch, tmp_path):
    monkeypatch.setenv("TOP_K", "7")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    settings = Settings(_env_file=None)
    assert settings.top_k == 7 and settings.chroma_path == tmp_path / "chroma"
    monkeypatch.setenv("LLM_PROVIDER", "nonsense")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_secret_is_not_in_repr(monkeypatch):
    monkeypatch.setenv("LLM_API_KEY", "sk-very-secret")
    settings = Settings(_env_file=None)
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.model_dump())


def test_derived_urls():
    local = Settings(_env_file=None, llm_provider="local", local_llm_port=9999)
    assert local.llm_url == "http://127.0.0.1:9999/v1"
    assert Settings(_env_file=None, llm_provider="openai").llm_url == "https://api.openai.com/v1"
    assert Settings(_env_file=None, llm_provider="openai_compatible", llm_base_url="http://h:1/v1/").llm_url == "http://h:1/v1"
