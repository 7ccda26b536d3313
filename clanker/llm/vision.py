"""Which models see images, and a request for one that does not.

`supports_vision(config)`: ``ProviderConfig.vision`` when set (True or False); otherwise decided
by the model's name: Anthropic's Claude 3 and later, OpenAI's GPT-4o, GPT-4.1, GPT-4-turbo,
GPT-5 and o1/o3/o4 (not the -mini o1 or o3-mini, which take no images), xAI's Grok 4 and the
``-vision`` models. An ``openai_compatible`` server is never assumed to see images (set
``vision=True`` for a vision model served by Ollama, vLLM or llama.cpp).

The service sends each attempt through `for_provider`: a provider that does not see images gets
every `ImagePart` replaced by a short text saying an image was there, so a fallback to a
text-only model still answers instead of failing on the image.
"""

from __future__ import annotations

import re

import msgspec

from clanker.llm.config import ProviderConfig
from clanker.llm.model import ImagePart, LlmMessage, LlmRequest, TextPart

IMAGE_NOT_SHOWN = "[an image was here, but this model cannot see images]"

_VISION_MODELS = re.compile(
    r"""^(
        claude-(3|opus|sonnet|haiku)   # Claude 3 and every family name after it
      | gpt-4o | gpt-4\.1 | gpt-4-turbo | gpt-5 | chatgpt-4o
      | o1(?!-mini) | o3(?!-mini) | o4
      | grok-4 | grok-.*vision
    )""",
    re.VERBOSE,
)


def supports_vision(config: ProviderConfig) -> bool:
    """Whether this provider's model takes image inputs (see the module docstring)."""
    if config.vision is not None:
        return config.vision
    if config.kind == "openai_compatible":
        return False
    return _VISION_MODELS.match(config.model.lower()) is not None


def has_images(request: LlmRequest) -> bool:
    return any(isinstance(p, ImagePart) for m in request.messages for p in m.parts)


def for_provider(request: LlmRequest, config: ProviderConfig) -> LlmRequest:
    """``request`` as this provider may get it: unchanged, or with its images replaced."""
    if supports_vision(config) or not has_images(request):
        return request
    messages = tuple(
        LlmMessage(
            m.role,
            tuple(TextPart(IMAGE_NOT_SHOWN) if isinstance(p, ImagePart) else p for p in m.parts),
        )
        for m in request.messages
    )
    return msgspec.structs.replace(request, messages=messages)
