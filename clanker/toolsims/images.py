"""`ImageSim`: a local server speaking OpenAI's and xAI's image generation APIs.

    async with open_image_sim(openai_key="ok", xai_key="xk") as sim:
        client = openai.AsyncOpenAI(base_url=sim.openai_url, api_key="ok")
        await client.images.generate(model="gpt-image-1", prompt="a cat")
        assert sim.requests[0].body["prompt"] == "a cat"

Routes, each API with its own key (``Authorization: Bearer``):

* ``POST /openai/v1/images/generations`` (``sim.openai_url``): OpenAI's GPT image models. A
  wrong key gets 401 ``invalid_api_key``; an unknown model 404 ``model_not_found``;
  ``response_format`` (which GPT image models do not take), a missing prompt, a prompt over
  32,000 characters or ``n`` other than 1 get 400 ``invalid_request_error``. The answer:
  ``{"created", "background", "data": [{"b64_json"}], "output_format", "quality", "size",
  "usage": {input_tokens, output_tokens, …}}``.
* ``POST /xai/v1/images/generations`` (``sim.xai_url``): xAI's ``grok-*`` image models. A
  wrong key gets 400 (xAI answers a bad key so) ``{"code", "error"}``; ``size``, ``quality``
  or ``style`` get 400 ``Argument not supported: …``. The answer: ``{"data": [{"b64_json" (or
  "url" when ``response_format`` is ``url``), "mime_type", "revised_prompt"}], "usage":
  {"cost_in_usd_ticks"}}``.

Every image is a PNG drawn with Pillow, the same bytes for the same prompt (`sim_image`), so
a test can compare what Discord received with what the sim made. ``fail(api, status)`` fails
the next request of an API; ``stall(api)`` never answers it. Every request is recorded (the
key replaced by ``<redacted>``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import trio

from clanker.llmsim._http import Reply, Request, serve

__all__ = ["ImageSim", "RecordedImageRequest", "open_image_sim", "sim_image"]

Api = Literal["openai", "xai"]
_JSON = [("content-type", "application/json")]
OPENAI_MODELS = ("gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini", "dall-e-3", "dall-e-2")
XAI_MODELS = ("grok-imagine-image", "grok-2-image", "grok-2-image-1212")
SIM_SIDE = 256  # the sim draws small pictures: fast, and still real PNGs


def sim_image(prompt: str) -> bytes:
    """The PNG the sim makes for ``prompt``: stripes in colours taken from its hash, labelled
    as the sim's, with the prompt's start written on it."""
    from PIL import Image, ImageDraw

    seed = hashlib.sha256(prompt.encode()).digest()
    image = Image.new("RGB", (SIM_SIDE, SIM_SIDE), (seed[0], seed[1], seed[2]))
    draw = ImageDraw.Draw(image)
    for n in range(4):
        colour = (seed[3 + n * 3], seed[4 + n * 3], seed[5 + n * 3])
        top = SIM_SIDE // 5 * n
        draw.rectangle((0, top, SIM_SIDE // 2, top + SIM_SIDE // 8), fill=colour)
    draw.text((8, SIM_SIDE - 34), "image sim (not a real picture)", fill=(255, 255, 255))
    draw.text((8, SIM_SIDE - 20), prompt[:38], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class RecordedImageRequest:
    """A request as the sim received it: which API, its JSON body, its headers."""

    api: Api
    body: Any
    headers: dict[str, str]


@dataclass
class ImageSim:
    """OpenAI's and xAI's images APIs (module docstring). Build it with `open_image_sim`."""

    openai_key: str | None = None
    xai_key: str | None = None
    requests: list[RecordedImageRequest] = field(default_factory=list)
    failures: dict[str, deque[int | None]] = field(
        default_factory=lambda: {"openai": deque(), "xai": deque()}
    )
    url: str = ""

    @property
    def openai_url(self) -> str:
        """``base_url`` for the openai SDK talking to the OpenAI side."""
        return f"{self.url}/openai/v1"

    @property
    def xai_url(self) -> str:
        """``base_url`` for the openai SDK talking to the xAI side."""
        return f"{self.url}/xai/v1"

    def fail(self, api: Api, status: int = 500, *, times: int = 1) -> None:
        """Fail the next ``times`` requests of ``api`` with ``status``."""
        self.failures[api].extend(status for _ in range(times))

    def stall(self, api: Api) -> None:
        """Never answer the next request of ``api``."""
        self.failures[api].append(None)

    async def handle(self, request: Request) -> Reply:
        api: Api | None = None
        if request.target == "/openai/v1/images/generations":
            api = "openai"
        elif request.target == "/xai/v1/images/generations":
            api = "xai"
        if api is None or request.method != "POST":
            return _openai_error(404, "Not found.", "invalid_request_error", None)
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        headers = {
            k: ("<redacted>" if k == "authorization" else v) for k, v in request.headers.items()
        }
        self.requests.append(RecordedImageRequest(api, body, headers))
        key = self.openai_key if api == "openai" else self.xai_key
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if key is not None and given != key:
            if api == "openai":
                return _openai_error(
                    401,
                    "Incorrect API key provided. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                )
            return _xai_error(
                400, "Incorrect API key provided. You can obtain an API key from the xAI console."
            )
        if self.failures[api]:
            status = self.failures[api].popleft()
            if status is None:
                await trio.sleep_forever()
                raise AssertionError("unreachable")
            if api == "openai":
                return _openai_error(
                    status, "The server had an error (simulated).", "server_error", None
                )
            return _xai_error(status, "Service temporarily unavailable (simulated).")
        if not isinstance(body, dict):
            return _openai_error(
                400, "The body is not a JSON object.", "invalid_request_error", None
            )
        return self._openai(body) if api == "openai" else self._xai(body)

    def _openai(self, body: dict[str, Any]) -> Reply:
        model = body.get("model", "dall-e-2")
        prompt = body.get("prompt")
        if model not in OPENAI_MODELS:
            return _openai_error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if not isinstance(prompt, str) or not prompt:
            return _openai_error(
                400,
                "Missing required parameter: 'prompt'.",
                "invalid_request_error",
                "missing_required_parameter",
            )
        if len(prompt) > 32000:
            return _openai_error(
                400,
                "The prompt is too long (max 32000).",
                "invalid_request_error",
                "string_above_max_length",
            )
        if str(model).startswith("gpt-image") and "response_format" in body:
            return _openai_error(
                400,
                "Unknown parameter: 'response_format'.",
                "invalid_request_error",
                "unknown_parameter",
            )
        if body.get("n", 1) != 1:
            return _openai_error(
                400, "The sim makes one image per request (n=1).", "invalid_request_error", None
            )
        image = base64.b64encode(sim_image(prompt)).decode()
        answer = {
            "created": 1_767_225_600,
            "background": "opaque",
            "data": [{"b64_json": image}],
            "output_format": body.get("output_format", "png"),
            "quality": body.get("quality", "auto"),
            "size": body.get("size", "auto"),
            "usage": {
                "input_tokens": len(prompt.split()),
                "input_tokens_details": {"image_tokens": 0, "text_tokens": len(prompt.split())},
                "output_tokens": 1056,
                "total_tokens": 1056 + len(prompt.split()),
            },
        }
        return Reply(200, _JSON, json.dumps(answer).encode())

    def _xai(self, body: dict[str, Any]) -> Reply:
        for unsupported in ("size", "quality", "style"):
            if unsupported in body:
                return _xai_error(400, f"Argument not supported: {unsupported}")
        model = body.get("model")
        prompt = body.get("prompt")
        if model not in XAI_MODELS:
            return _xai_error(
                404, f"The model {model} does not exist or your team does not have access to it."
            )
        if not isinstance(prompt, str) or not prompt:
            return _xai_error(422, "Failed to deserialize the JSON body: missing field `prompt`")
        data = sim_image(prompt)
        item: dict[str, Any] = {
            "b64_json": None,
            "mime_type": "image/png",
            "revised_prompt": f"A picture of {prompt} (revised by the image sim)",
            "url": None,
        }
        if body.get("response_format", "url") == "b64_json":
            item["b64_json"] = base64.b64encode(data).decode()
        else:
            item["url"] = f"{self.url}/xai/generated/{hashlib.sha256(data).hexdigest()[:16]}.png"
        answer = {"data": [item], "usage": {"cost_in_usd_ticks": 200_000_000}}
        return Reply(200, _JSON, json.dumps(answer).encode())


def _openai_error(status: int, message: str, kind: str, code: str | None) -> Reply:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Reply(status, _JSON, json.dumps(body).encode())


def _xai_error(status: int, message: str) -> Reply:
    body = {"code": "Client specified an invalid argument", "error": message}
    return Reply(status, _JSON, json.dumps(body).encode())


@asynccontextmanager
async def open_image_sim(
    *, openai_key: str | None = None, xai_key: str | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[ImageSim]:
    """Run an `ImageSim` on ``host`` at an ephemeral port for the duration of the block."""
    sim = ImageSim(openai_key=openai_key, xai_key=xai_key)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve, sim.handle, host))
        sim.url = f"http://{host}:{port}"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
