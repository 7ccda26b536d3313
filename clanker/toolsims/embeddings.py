"""`EmbeddingSim`: a local server speaking OpenAI's ``/v1/embeddings`` (and so Ollama's, vLLM's).

    async with open_embedding_sim(api_key="sk-test") as sim:
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test")
        reply = await client.embeddings.create(model="text-embedding-3-small", input=["hi"])
        assert sim.requests[0].body["encoding_format"] == "base64"  # the SDK's default

The wire format is OpenAI's: a JSON body with ``model``, ``input`` (a string or a list of
strings; token arrays are refused here), optional ``dimensions``, ``encoding_format``
(``float`` or ``base64``: little-endian float32, what the SDK asks for by default) and
``user``; the answer ``{"object": "list", "data": [{"object": "embedding", "index",
"embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}``. Errors are OpenAI's
``{"error": {"message", "type", "param", "code"}}`` with its statuses: 401
``invalid_api_key`` (a wrong key, when ``api_key`` is set), 404 ``model_not_found``, 400
``invalid_request_error`` (empty or over-long input, over 2,048 inputs, ``dimensions`` out of
range or given to a model that takes none, a bad ``encoding_format``), 429
``rate_limit_exceeded`` with ``retry-after`` and 500 ``server_error`` when scripted.

The models are `SimModel`s: OpenAI's three (text-embedding-3-small 1536 numbers and
-large 3072, both shortened by ``dimensions``; ada-002, which refuses it) and two that behave
like an Ollama server's — they ignore ``dimensions`` and answer their own length
(``nomic-embed-text`` 768, ``all-minilm`` 384). A compatible server that ignores
``encoding_format`` and always sends float lists is ``float_only=True``.

Vectors are deterministic and meaningful: a hashed bag of words (lower-cased words of three
letters or more, a plural ``s`` dropped, a few stop words left out), each word adding ±1 at one
of the first 384 positions and ±0.5 at one of the rest, normalised; texts sharing words are
close, texts sharing none are near orthogonal. ``dimensions`` keeps the first numbers and
rescales them to unit length (as text-embedding-3 does), so a vector shortened by the server
equals one the client cuts itself.

`open_embedding_sim` serves it on 127.0.0.1; `EmbeddingSim.transport` hands the same handler to
the SDK as an in-memory ``httpx`` transport (no socket), for tests on trio's autojump clock.

Faults, each for the next ``times`` requests: `fail` (any status, OpenAI's error body),
`rate_limit` (429 with ``retry-after``), `stall` (never answers), `slow` (answers after a
delay). Every request is recorded, the key replaced by ``<redacted>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from clanker.llmsim._http import Reply, Request, serve

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "SIM_MODELS",
    "EmbeddingSim",
    "RecordedEmbeddingRequest",
    "SimModel",
    "open_embedding_sim",
    "sim_vector",
]

_JSON = [("content-type", "application/json")]
IN_MEMORY_URL = "http://embedding-sim.invalid"  # where `transport` answers (no DNS, no socket)
HEAD = 384
MAX_INPUTS = 2048
MAX_INPUT_CHARS = 8192 * 4  # about 8,192 tokens
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STOP = frozenset(
    {"the", "and", "for", "are", "was", "were", "what", "who", "how", "does", "did", "has"}
    | {"have", "her", "his", "she", "him", "you"}
)


@dataclass(frozen=True)
class SimModel:
    """A model the sim serves: its native length, and how it treats ``dimensions``
    (``takes_dimensions`` False: a 400, as ada-002; ``honours_dimensions`` False: ignored, as
    Ollama's models)."""

    dims: int
    takes_dimensions: bool = True
    honours_dimensions: bool = True


SIM_MODELS: Mapping[str, SimModel] = {
    "text-embedding-3-small": SimModel(1536),
    "text-embedding-3-large": SimModel(3072),
    "text-embedding-ada-002": SimModel(1536, takes_dimensions=False),
    "nomic-embed-text": SimModel(768, honours_dimensions=False),
    "all-minilm": SimModel(384, honours_dimensions=False),
}


def sim_words(text: str) -> list[str]:
    """The words the sim's vectors are made of (see the module docstring)."""
    words = []
    for word in _WORD.findall(text.casefold()):
        if word in _STOP:
            continue
        words.append(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return words


def _unit(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in values))
    return [x / norm for x in values] if norm > 0 else values


def sim_vector(text: str, dims: int, shorten_to: int | None = None) -> list[float]:
    """The vector the sim answers for ``text`` with a model of ``dims`` numbers, shortened to
    ``shorten_to`` (first numbers, rescaled) when given."""
    values = [0.0] * dims
    head = min(HEAD, dims)
    for word in sim_words(text) or ["<empty>"]:
        digest = hashlib.sha256(word.encode()).digest()
        sign = 1.0 if digest[0] & 1 else -1.0
        values[int.from_bytes(digest[1:5], "big") % head] += sign
        if dims > HEAD:
            tail_sign = 1.0 if digest[5] & 1 else -1.0
            values[HEAD + int.from_bytes(digest[6:10], "big") % (dims - HEAD)] += 0.5 * tail_sign
    if shorten_to is not None and shorten_to < dims:
        values = values[:shorten_to]
    return _unit(values)


@dataclass(eq=False)
class RecordedEmbeddingRequest:
    """A request as the sim received it (trio times): the JSON body, the headers, when it
    came, and the status it got (0 while unanswered: stalled, or its client hung up)."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    at: float
    status: int = 0

    @property
    def inputs(self) -> list[str]:
        """The texts asked for (``input`` as a list)."""
        raw = self.body.get("input") if isinstance(self.body, dict) else None
        return [raw] if isinstance(raw, str) else list(raw or [])


@dataclass(frozen=True)
class _Fault:
    status: int | None = None  # None: no error
    message: str = ""
    code: str | None = None
    kind: str = "server_error"
    retry_after: float | None = None
    delay: float = 0.0
    stall: bool = False


@dataclass
class EmbeddingSim:
    """OpenAI's embeddings endpoint (module docstring). Build it with `open_embedding_sim`."""

    api_key: str | None = None
    models: Mapping[str, SimModel] = field(default_factory=lambda: dict(SIM_MODELS))
    float_only: bool = False
    requests: list[RecordedEmbeddingRequest] = field(default_factory=list)
    url: str = ""
    _faults: deque[_Fault] = field(default_factory=deque)

    @property
    def base_url(self) -> str:
        """``base_url`` for ``openai.AsyncOpenAI`` (ends in ``/v1``)."""
        return f"{self.url}/v1"

    def fail(self, status: int = 500, *, times: int = 1, message: str | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` in OpenAI's error shape."""
        text = message or "The server had an error while processing your request. Sorry about that!"
        kind = "server_error" if status >= 500 else "invalid_request_error"
        self._faults.extend(_Fault(status, text, kind=kind) for _ in range(times))

    def rate_limit(self, retry_after: float | None = 1.0, *, times: int = 1) -> None:
        """Answer the next ``times`` requests 429 ``rate_limit_exceeded`` (with
        ``retry-after`` seconds unless None)."""
        text = (
            "Rate limit reached for requests per min (RPM): Limit 3000, Used 3000, Requested 1. "
            "Please try again later."
        )
        fault = _Fault(429, text, "rate_limit_exceeded", "requests", retry_after=retry_after)
        self._faults.extend(fault for _ in range(times))

    def stall(self, *, times: int = 1) -> None:
        """Never answer the next ``times`` requests (until the client hangs up)."""
        self._faults.extend(_Fault(stall=True) for _ in range(times))

    def slow(self, delay: float, *, times: int = 1) -> None:
        """Answer the next ``times`` requests normally, after ``delay`` seconds."""
        self._faults.extend(_Fault(delay=delay) for _ in range(times))

    @property
    def pending_faults(self) -> int:
        """Scripted faults not used yet."""
        return len(self._faults)

    def transport(self) -> httpx2.MockTransport:
        """This sim as an in-memory transport for ``openai.DefaultAsyncHttpxClient`` (base URL
        ``IN_MEMORY_URL + "/v1"``): the same handler, the same bytes, no socket, so a test on
        trio's autojump clock sees exact times (a stall waits on trio's clock alone)."""
        import httpx2

        if not self.url:
            self.url = IN_MEMORY_URL

        async def exchange(request: httpx2.Request) -> httpx2.Response:
            target = request.url.raw_path.decode("ascii")
            headers = {k.lower(): v for k, v in request.headers.items()}
            reply = await self.handle(Request(request.method, target, headers, request.content))
            return httpx2.Response(reply.status, headers=reply.headers, content=reply.body)

        return httpx2.MockTransport(exchange)

    async def handle(self, request: Request) -> Reply:
        """Answer one HTTP request (the `serve` handler)."""
        path = request.target.partition("?")[0]
        try:
            body: Any = json.loads(request.body) if request.body else None
        except ValueError:
            body = None
        headers = {
            k: ("<redacted>" if k == "authorization" else v) for k, v in request.headers.items()
        }
        recorded = RecordedEmbeddingRequest(
            request.method, path, body, headers, trio.current_time()
        )
        self.requests.append(recorded)
        recorded.status, reply = await self._answer(request, path, body)
        return reply

    async def _answer(self, request: Request, path: str, body: Any) -> tuple[int, Reply]:
        if request.method != "POST" or path != "/v1/embeddings":
            return _error(404, f"Invalid URL ({request.method} {path})", None, None)
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self.api_key is not None and given != self.api_key:
            shown = given[:3] + "*" * 4 + given[-4:] if len(given) > 8 else "*" * len(given)
            return _error(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                None,
                "invalid_api_key",
            )
        if self._faults:
            fault = self._faults.popleft()
            if fault.stall:
                await trio.sleep_forever()
            if fault.delay > 0:
                await trio.sleep(fault.delay)
            if fault.status is not None:
                extra = []
                if fault.retry_after is not None:
                    extra.append(("retry-after", f"{fault.retry_after:g}"))
                return _error(
                    fault.status, fault.message, None, fault.code, fault.kind, headers=extra
                )
        if not isinstance(body, dict):
            return _error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly.)",
                None,
                None,
            )
        return self._embed(body)

    def _embed(self, body: dict[str, Any]) -> tuple[int, Reply]:
        name = body.get("model")
        if not isinstance(name, str) or not name:
            return _error(400, "you must provide a model parameter", None, None)
        model = self.models.get(name)
        if model is None:
            return _error(
                404,
                f"The model `{name}` does not exist or you do not have access to it.",
                None,
                "model_not_found",
            )
        texts = _texts(body.get("input"))
        if isinstance(texts, str):
            return _error(400, texts, "input", None)
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            return _error(
                400,
                f"Invalid value for 'encoding_format': {encoding!r}. Supported values are: "
                "'float' and 'base64'.",
                "encoding_format",
                "invalid_value",
            )
        shorten_to = body.get("dimensions")
        if shorten_to is not None:
            if not model.takes_dimensions:
                return _error(400, "This model does not support specifying dimensions.", None, None)
            if not isinstance(shorten_to, int) or not 1 <= shorten_to <= model.dims:
                return _error(
                    400,
                    f"Invalid value for 'dimensions' = {shorten_to}. Must be between 1 and "
                    f"{model.dims}.",
                    "dimensions",
                    "invalid_value",
                )
            if not model.honours_dimensions:
                shorten_to = None
        data = []
        for index, text in enumerate(texts):
            vector = sim_vector(text, model.dims, shorten_to)
            embedding: Any = vector
            if encoding == "base64" and not self.float_only:
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(max(1, len(text.split())) for text in texts)
        answer = {
            "object": "list",
            "data": data,
            "model": name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return 200, Reply(200, _JSON, json.dumps(answer).encode())


def _texts(raw: object) -> list[str] | str:
    """The input as texts, or the problem (OpenAI's wording) as a string."""
    invalid = (
        "'$.input' is invalid. Please check the API reference: "
        "https://platform.openai.com/docs/api-reference."
    )
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        return invalid
    if len(raw) > MAX_INPUTS:
        return f"'$.input' is too long: at most {MAX_INPUTS} inputs, got {len(raw)}."
    if not all(isinstance(t, str) and t for t in raw):
        return invalid  # token arrays (ints) and empty strings: not served by the sim
    for text in raw:
        if len(text) > MAX_INPUT_CHARS:
            return (
                "This model's maximum context length is 8192 tokens, however you requested "
                f"about {len(text) // 4} tokens. Please reduce your prompt."
            )
    return list(raw)


def _error(
    status: int,
    message: str,
    param: str | None,
    code: str | None,
    kind: str = "invalid_request_error",
    *,
    headers: list[tuple[str, str]] | None = None,
) -> tuple[int, Reply]:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return status, Reply(status, [*_JSON, *(headers or [])], json.dumps(body).encode())


@asynccontextmanager
async def open_embedding_sim(
    *,
    api_key: str | None = None,
    models: Mapping[str, SimModel] | None = None,
    float_only: bool = False,
    host: str = "127.0.0.1",
) -> AsyncIterator[EmbeddingSim]:
    """Run an `EmbeddingSim` on ``host`` at an ephemeral port for the duration of the block."""
    sim = EmbeddingSim(
        api_key=api_key,
        models=dict(SIM_MODELS if models is None else models),
        float_only=float_only,
    )
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve, sim.handle, host))
        sim.url = f"http://{host}:{port}"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
