"""The cloud providers the settings ask for, built with their keys from the environment.

Keys and endpoints follow the LLM providers' conventions (docs/llm.md): the key comes from the
environment only — ``OPENAI_API_KEY`` (the same variable the LLM layer reads) or
``ELEVENLABS_API_KEY`` — and never from the live settings, which the dashboard can read and
write. The base URL is the provider's own unless ``CLANKER_OPENAI_BASE_URL`` /
``CLANKER_ELEVENLABS_BASE_URL`` point elsewhere (a proxy, or voicesim in tests); like the key,
it is not a live setting, because whoever sets it decides where the key is sent.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping

from clanker.llm.config import DEFAULT_BASE_URLS, DEFAULT_KEY_ENV
from clanker.settings.model import Settings
from clanker.voice.cloud.elevenlabs_tts import DEFAULT_BASE_URL as ELEVENLABS_DEFAULT_URL
from clanker.voice.cloud.elevenlabs_tts import ElevenLabsSpeech
from clanker.voice.cloud.errors import CloudConfigError
from clanker.voice.cloud.openai_asr import OpenAiTranscriber
from clanker.voice.cloud.openai_tts import OpenAiSpeech

OPENAI_KEY_ENV = DEFAULT_KEY_ENV["openai"]
OPENAI_BASE_URL_ENV = "CLANKER_OPENAI_BASE_URL"
ELEVENLABS_KEY_ENV = "ELEVENLABS_API_KEY"
ELEVENLABS_BASE_URL_ENV = "CLANKER_ELEVENLABS_BASE_URL"


def _key(env: Mapping[str, str], var: str, setting: str, provider: str) -> str:
    key = env.get(var, "").strip()
    if not key:
        raise CloudConfigError(
            f"{setting} is {provider!r} but ${var} is not set: export the {provider} API key "
            f"as {var}, or set {setting} to 'local'"
        )
    return key


def _read(env: Mapping[str, str], *variables: str) -> tuple[str, ...]:
    return tuple(env.get(var, "").strip() for var in variables)


def _base_url(env: Mapping[str, str], var: str, default: str) -> str:
    url = env.get(var, "").strip() or default
    if not url.startswith(("http://", "https://")):
        raise CloudConfigError(f"${var} must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def cloud_transcriber(
    settings: Settings, env: Mapping[str, str] | None = None
) -> OpenAiTranscriber | None:
    """The recogniser ``settings.voice.asr`` names; None for ``local`` (the caller uses its
    local model). Raises `CloudConfigError` when the provider's key is missing."""
    env = os.environ if env is None else env
    asr = settings.voice.asr
    if asr.provider == "local":
        return None
    key = _key(env, OPENAI_KEY_ENV, "voice.asr.provider", "openai")
    return OpenAiTranscriber(
        key,
        base_url=_base_url(env, OPENAI_BASE_URL_ENV, DEFAULT_BASE_URLS["openai"]),
        model=asr.openai_model,
        timeout=asr.timeout_seconds,
    )


def cloud_synth(
    settings: Settings, env: Mapping[str, str] | None = None
) -> OpenAiSpeech | ElevenLabsSpeech | None:
    """The voice ``settings.voice.tts`` names; None for ``local``. Raises
    `CloudConfigError` when the provider's key is missing."""
    env = os.environ if env is None else env
    tts = settings.voice.tts
    if tts.provider == "local":
        return None
    if tts.provider == "openai":
        key = _key(env, OPENAI_KEY_ENV, "voice.tts.provider", "openai")
        return OpenAiSpeech(
            key,
            base_url=_base_url(env, OPENAI_BASE_URL_ENV, DEFAULT_BASE_URLS["openai"]),
            model=tts.openai_model,
            voice=tts.openai_voice,
            instructions=tts.openai_instructions,
            timeout=tts.timeout_seconds,
        )
    key = _key(env, ELEVENLABS_KEY_ENV, "voice.tts.provider", "elevenlabs")
    return ElevenLabsSpeech(
        key,
        tts.elevenlabs_voice_id,
        base_url=_base_url(env, ELEVENLABS_BASE_URL_ENV, ELEVENLABS_DEFAULT_URL),
        model=tts.elevenlabs_model,
        timeout=tts.timeout_seconds,
    )


def transcriber_choice(
    settings: Settings, env: Mapping[str, str] | None = None
) -> tuple[Hashable, ...]:
    """Everything `cloud_transcriber` builds from (the ``voice.asr`` section, the key and the
    base URL), or ``("local",)``: equal choices build equal providers, so a caller can keep
    one provider per choice."""
    env = os.environ if env is None else env
    asr = settings.voice.asr
    if asr.provider == "local":
        return ("local",)
    return (asr, *_read(env, OPENAI_KEY_ENV, OPENAI_BASE_URL_ENV))


def synth_choice(settings: Settings, env: Mapping[str, str] | None = None) -> tuple[Hashable, ...]:
    """Everything `cloud_synth` builds from (the ``voice.tts`` section and the chosen
    provider's key and base URL), or ``("local",)``; see `transcriber_choice`."""
    env = os.environ if env is None else env
    tts = settings.voice.tts
    if tts.provider == "local":
        return ("local",)
    if tts.provider == "openai":
        return (tts, *_read(env, OPENAI_KEY_ENV, OPENAI_BASE_URL_ENV))
    return (tts, *_read(env, ELEVENLABS_KEY_ENV, ELEVENLABS_BASE_URL_ENV))
