"""Which embedder ``memory.embedding`` names, with which key: without trio or a network."""

from __future__ import annotations

import pytest

from clanker.memory.choice import (
    LOCAL,
    NO_KEY,
    EmbeddingChoice,
    EmbeddingConfigError,
    build_embedder,
    embedding_choice,
)
from clanker.memory.openai_embedder import OpenAiEmbedder
from clanker.settings.validation import parse_settings

from .test_service import BagOfWords


def settings(**embedding: object):  # type: ignore[no-untyped-def]
    return parse_settings({"memory": {"embedding": embedding}})


def test_local_ignores_the_other_knobs_so_changing_them_rebuilds_nothing() -> None:
    assert embedding_choice(settings(), {}) is LOCAL
    assert embedding_choice(settings(model="nomic-embed-text", similarity_floor=0.3), {}) == LOCAL
    local = BagOfWords()
    assert build_embedder(LOCAL, local) is local


def test_openai_takes_its_key_and_base_url_from_the_environment_only() -> None:
    env = {"OPENAI_API_KEY": "sk-live", "CLANKER_OPENAI_EMBEDDINGS_BASE_URL": "http://proxy/v1/"}
    choice = embedding_choice(settings(provider="openai", base_url="http://evil.example/v1"), env)
    assert choice == EmbeddingChoice(
        provider="openai",
        model="text-embedding-3-small",
        base_url="http://proxy/v1",  # the live base_url is only for openai_compatible
        similarity_floor=0.1,
        api_key="sk-live",
    )
    assert "sk-live" not in repr(choice)
    assert embedding_choice(settings(provider="openai"), {"OPENAI_API_KEY": "k"}).base_url == (
        "https://api.openai.com/v1"
    )
    built = build_embedder(choice, BagOfWords())
    assert isinstance(built, OpenAiEmbedder)
    assert (built.model, built.base_url, built.key_env) == (
        "openai/text-embedding-3-small",
        "http://proxy/v1",
        "OPENAI_API_KEY",
    )


def test_a_compatible_server_never_gets_the_openai_key() -> None:
    env = {"OPENAI_API_KEY": "sk-live"}
    wanted = settings(
        provider="openai_compatible",
        model="nomic-embed-text",
        base_url="http://localhost:11434/v1",
        matryoshka_truncate=True,
        similarity_floor=0.4,
    )
    choice = embedding_choice(wanted, env)
    assert (choice.api_key, choice.truncate, choice.similarity_floor) == ("", True, 0.4)
    built = build_embedder(choice, BagOfWords())
    assert isinstance(built, OpenAiEmbedder)
    assert built.model == "openai_compatible/nomic-embed-text" and built.truncate
    assert built.key_env == "CLANKER_EMBEDDINGS_API_KEY" and built.similarity_floor == 0.4
    keyed = embedding_choice(wanted, {**env, "CLANKER_EMBEDDINGS_API_KEY": "vllm-key"})
    assert keyed.api_key == "vllm-key" and NO_KEY == "no-key"


def test_what_cannot_be_built_says_what_to_set() -> None:
    with pytest.raises(EmbeddingConfigError) as no_key:
        build_embedder(embedding_choice(settings(provider="openai"), {}), BagOfWords())
    assert str(no_key.value) == (
        "memory.embedding.provider is 'openai' but $OPENAI_API_KEY is not set: export the "
        "OpenAI API key as OPENAI_API_KEY, or set memory.embedding.provider back to 'local'"
    )
    with pytest.raises(EmbeddingConfigError, match=r"memory\.embedding\.base_url is empty"):
        build_embedder(embedding_choice(settings(provider="openai_compatible"), {}), BagOfWords())
    env = {"OPENAI_API_KEY": "k", "CLANKER_OPENAI_EMBEDDINGS_BASE_URL": "api.openai.com"}
    with pytest.raises(
        EmbeddingConfigError,
        match=r"\$CLANKER_OPENAI_EMBEDDINGS_BASE_URL must be an http\(s\) URL, got 'api\.openai",
    ):
        build_embedder(embedding_choice(settings(provider="openai"), env), BagOfWords())


def test_the_settings_refuse_an_unknown_provider_and_a_bad_url() -> None:
    with pytest.raises(ValueError) as bad:
        settings(provider="ollama", base_url="localhost:11434", similarity_floor=1.0)
    text = str(bad.value)
    assert "memory.embedding.provider: must be one of local, openai, openai_compatible" in text
    assert "memory.embedding.base_url: must match" in text
    assert "memory.embedding.similarity_floor: must be <= 0.95, got 1.0" in text
