"""Prices by model name, the cost formula, and provider configuration (keys never shown)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.llm import (
    DEFAULT_PRICES,
    LlmConfig,
    LlmConfigError,
    ModelPrice,
    PriceTable,
    ProviderConfig,
    Usage,
    cost_usd,
)
from clanker.llm.providers import make_provider


@pytest.mark.parametrize(
    ("kind", "model", "input_price", "output_price"),
    [
        ("anthropic", "claude-sonnet-4-6", 3.0, 15.0),
        ("anthropic", "claude-sonnet-4-5-20250929", 3.0, 15.0),
        ("anthropic", "claude-opus-4-1-20250805", 15.0, 75.0),
        ("anthropic", "claude-opus-4-8", 5.0, 25.0),
        ("anthropic", "claude-haiku-4-5-20251001", 1.0, 5.0),
        ("openai", "gpt-5.4-mini-2026-03-17", 0.75, 4.5),
        ("openai", "gpt-5-mini-2025-08-07", 0.25, 2.0),
        ("openai", "gpt-5.5-pro", 30.0, 180.0),
        ("openai", "gpt-5-chat-latest", 1.25, 10.0),
        ("openai", "GPT-4o-2024-08-06", 2.5, 10.0),
        ("xai", "grok-4-0709", 3.0, 15.0),
        ("xai", "grok-4-1-fast-reasoning", 0.2, 0.5),
        ("xai", "grok-4.20-0309-reasoning", 1.25, 2.5),
    ],
)
def test_models_find_their_price(
    kind: str, model: str, input_price: float, output_price: float
) -> None:
    price = DEFAULT_PRICES.lookup(kind, model)
    assert price is not None
    assert (price.input, price.output) == (input_price, output_price)


def test_unknown_models_and_kinds_have_no_price() -> None:
    assert DEFAULT_PRICES.lookup("anthropic", "claude-opus-9") is None
    assert DEFAULT_PRICES.lookup("openai_compatible", "llama3") is None
    assert DEFAULT_PRICES.lookup("openai", "gpt-5.4x") is None  # a prefix must end at a separator


def test_anthropic_cache_prices_are_the_documented_multiples() -> None:
    price = DEFAULT_PRICES.lookup("anthropic", "claude-sonnet-4-6")
    assert price == ModelPrice(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)


def test_cost_counts_every_token_kind_at_its_rate() -> None:
    price = ModelPrice(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    usage = Usage(input_tokens=100, output_tokens=10, cache_read_tokens=1000, cache_write_tokens=50)
    assert cost_usd(usage, price) == pytest.approx((300 + 150 + 300 + 187.5) / 1e6)


@given(st.integers(0, 10**8), st.integers(0, 10**8), st.integers(0, 10**8), st.integers(0, 10**8))
def test_cost_is_additive(i: int, o: int, r: int, w: int) -> None:
    price = ModelPrice(input=1.25, output=10.0, cache_read=0.125, cache_write=1.25)
    u = Usage(input_tokens=i, output_tokens=o, cache_read_tokens=r, cache_write_tokens=w)
    parts = [
        Usage(input_tokens=i),
        Usage(output_tokens=o),
        Usage(cache_read_tokens=r),
        Usage(cache_write_tokens=w),
    ]
    assert cost_usd(u, price) == pytest.approx(sum(cost_usd(p, price) for p in parts))
    assert cost_usd(u, price) >= 0


def test_a_custom_table_and_negative_prices() -> None:
    table = PriceTable(
        {
            "openai_compatible": {
                "llama3": ModelPrice(input=1, output=2, cache_read=0, cache_write=1)
            }
        }
    )
    assert table.lookup("openai_compatible", "llama3:8b") is None
    assert table.lookup("openai_compatible", "llama3-8b") is not None
    with pytest.raises(ValueError, match=r"ModelPrice\.output must be >= 0"):
        ModelPrice(input=1, output=-1, cache_read=0, cache_write=0)


SECRET = "sk-very-secret-key-123"


def test_the_api_key_never_shows_in_repr_str_or_config_repr() -> None:
    p = ProviderConfig(name="a", kind="anthropic", model="claude-sonnet-4-6", api_key=SECRET)
    config = LlmConfig(providers=(p,))
    for text in (repr(p), str(p), f"{p}", repr(config), str([p])):
        assert SECRET not in text
    assert "api_key=<set>" in repr(p)
    assert SECRET not in str(p.__rich_repr__())


def test_keys_come_from_config_then_environment_and_local_servers_need_none() -> None:
    env = {"ANTHROPIC_API_KEY": "from-env", "MY_KEY": "custom"}
    assert ProviderConfig(name="a", kind="anthropic", model="m").resolve_key(env) == "from-env"
    explicit = ProviderConfig(name="a", kind="anthropic", model="m", api_key="x")
    assert explicit.resolve_key(env) == "x"
    custom = ProviderConfig(name="a", kind="openai", model="m", api_key_env="MY_KEY")
    assert custom.resolve_key(env) == "custom"
    assert ProviderConfig(name="o", kind="openai", model="m").resolve_key(env) is None
    local = ProviderConfig(
        name="l", kind="openai_compatible", model="llama3", base_url="http://127.0.0.1:11434/v1"
    )
    assert local.resolve_key({}) == "not-needed"


def test_a_missing_key_is_a_config_error_naming_where_to_put_it() -> None:
    p = ProviderConfig(name="openai-main", kind="openai", model="gpt-5.4")
    with pytest.raises(
        LlmConfigError, match=r"'openai-main' \(openai\) has no API key: set \$OPENAI_API_KEY"
    ):
        make_provider(p, environ={})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kind": "openai_compatible"}, "needs a base_url"),
        ({"kind": "anthropic", "api": "chat"}, "api 'chat' is not available for kind 'anthropic'"),
        ({"kind": "xai", "api": "responses"}, "not available for kind 'xai'"),
        ({"kind": "openai", "attempt_timeout": 0}, "attempt_timeout must be > 0"),
        ({"kind": "openai", "model": " "}, "model must not be empty"),
    ],
)
def test_bad_provider_configs(fields: dict[str, object], expected: str) -> None:
    base: dict[str, object] = {"name": "p", "model": "m"} | fields
    with pytest.raises(LlmConfigError, match=expected):
        ProviderConfig(**base)  # type: ignore[arg-type]


def test_apis_and_base_urls_default_per_kind() -> None:
    def cfg(kind: str, **kw: object) -> ProviderConfig:
        return ProviderConfig(name="p", kind=kind, model="m", **kw)  # type: ignore[arg-type]

    assert (cfg("anthropic").resolved_api, cfg("anthropic").resolved_base_url) == (
        "messages",
        "https://api.anthropic.com",
    )
    assert cfg("openai").resolved_api == "responses"
    assert cfg("openai", api="chat").resolved_api == "chat"
    assert (cfg("xai").resolved_api, cfg("xai").resolved_base_url) == (
        "chat",
        "https://api.x.ai/v1",
    )


def test_llm_config_checks_names_and_builds_from_the_environment() -> None:
    p = ProviderConfig(name="same", kind="anthropic", model="m")
    with pytest.raises(LlmConfigError, match="repeated: same"):
        LlmConfig(providers=(p, p))
    with pytest.raises(LlmConfigError, match="configure at least one"):
        LlmConfig(providers=())
    config = LlmConfig.from_env({"XAI_API_KEY": "x", "ANTHROPIC_API_KEY": "a"})
    assert [p.name for p in config.providers] == ["anthropic", "xai"]
    with pytest.raises(
        LlmConfigError, match="set ANTHROPIC_API_KEY, OPENAI_API_KEY or XAI_API_KEY"
    ):
        LlmConfig.from_env({})


def test_a_config_decodes_from_json_with_its_checks() -> None:
    import msgspec

    text = b"""{"providers": [
        {"name": "claude", "kind": "anthropic", "model": "claude-sonnet-4-6"},
        {"name": "local", "kind": "openai_compatible", "model": "llama3.1:8b",
         "base_url": "http://127.0.0.1:11434/v1",
         "price": {"input": 0.1, "output": 0.2, "cache_read": 0, "cache_write": 0.1}}],
      "retry": {"max_attempts": 2}, "log_prompts": true}"""
    config = msgspec.json.decode(text, type=LlmConfig)
    assert [p.name for p in config.providers] == ["claude", "local"]
    assert config.providers[1].price == ModelPrice(
        input=0.1, output=0.2, cache_read=0, cache_write=0.1
    )
    assert config.retry.max_attempts == 2 and config.log_prompts
    with pytest.raises(msgspec.ValidationError, match="needs a base_url"):
        msgspec.json.decode(
            b'{"providers": [{"name": "l", "kind": "openai_compatible", "model": "m"}]}',
            type=LlmConfig,
        )
