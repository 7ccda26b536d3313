"""`SearchSim`: a local server speaking Brave Search's and SerpAPI's real HTTP APIs, scripted.

    async with open_search_sim(brave_key="bk", serpapi_key="sk") as sim:
        sim.brave.results["trio"] = [SimHit("Trio", "https://trio.example/", "async I/O")]
        sim.brave.fail(429, "RATE_LIMITED")          # the next Brave request fails
        config = WebToolsConfig(brave_base_url=sim.url, serpapi_base_url=sim.url, ...)

Routes (one server, both APIs, each with its own key, results and failures):

* ``GET /res/v1/web/search?q=…&count=…`` (Brave): the key in ``X-Subscription-Token``; a
  missing or wrong key gets 422 ``SUBSCRIPTION_TOKEN_INVALID``; ``count`` over 20 or an empty
  ``q`` gets 422 ``VALIDATION``; results in ``web.results[]`` (``title``, ``url``,
  ``description`` with ``<strong>`` highlights, ``meta_url``, …), no ``web`` key when nothing
  matched; errors as ``{"type": "ErrorResponse", "error": {id, status, code, detail, meta}}``.
* ``GET /search.json?engine=google&q=…&num=…&api_key=…`` (SerpAPI): a wrong key gets 401
  ``{"error": "Invalid API key. …"}``; results in ``organic_results[]`` (``position``,
  ``title``, ``link``, ``displayed_link``, ``snippet``, …) beside ``search_metadata`` and
  ``search_parameters``; nothing matched is HTTP 200 with ``"error": "Google hasn't returned any
  results for this query."``.

A query without scripted results gets ``default_hits`` made from the query (three hits on
``example.com``, which nothing ever fetches). Every request is recorded.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import parse_qs, quote, urlsplit

import trio

from clanker.llmsim._http import Reply, Request, serve

__all__ = ["ApiScript", "SearchSim", "SimFailure", "SimHit", "open_search_sim"]

_JSON = [("content-type", "application/json; charset=utf-8")]


@dataclass(frozen=True)
class SimHit:
    """One scripted result."""

    title: str
    url: str
    snippet: str


@dataclass(frozen=True)
class SimFailure:
    """The next request fails: with ``status`` and an error ``code`` (Brave) or message
    (SerpAPI); ``stall`` never answers (the client's own deadline ends it)."""

    status: int = 500
    code: str = ""
    stall: bool = False


@dataclass(frozen=True)
class RecordedSearch:
    """A request as the sim received it: path, query parameters (first values), headers."""

    api: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class ApiScript:
    """One API's script: its key (None: any key is accepted), results per query, queued
    failures, and what it received."""

    key: str | None = None
    results: dict[str, list[SimHit]] = field(default_factory=dict)
    failures: deque[SimFailure] = field(default_factory=deque)
    requests: list[RecordedSearch] = field(default_factory=list)
    # Results for an unscripted query (None: `default_hits`).
    default: Callable[[str], list[SimHit]] | None = None

    def fail(self, status: int = 500, code: str = "", *, times: int = 1) -> None:
        """Fail the next ``times`` requests with ``status``."""
        self.failures.extend(SimFailure(status, code) for _ in range(times))

    def stall(self) -> None:
        """Never answer the next request."""
        self.failures.append(SimFailure(stall=True))

    def hits_for(self, query: str) -> list[SimHit]:
        if query in self.results:
            return self.results[query]
        return (self.default or default_hits)(query)


def default_hits(query: str) -> list[SimHit]:
    """Three deterministic results for ``query``."""
    slug = quote(query.replace(" ", "-"), safe="-")
    return [
        SimHit(
            f"{query} — result {n}",
            f"https://example.com/{slug}/{n}",
            f"About <strong>{query}</strong>, part {n}.",
        )
        for n in (1, 2, 3)
    ]


class SearchSim:
    """Brave and SerpAPI on one local server (module docstring). Build it with
    `open_search_sim`."""

    def __init__(
        self,
        brave_key: str | None,
        serpapi_key: str | None,
        default: Callable[[str], list[SimHit]] | None = None,
    ) -> None:
        self.brave = ApiScript(key=brave_key, default=default)
        self.serpapi = ApiScript(key=serpapi_key, default=default)
        self.url = ""
        self.host = ""
        self.port = 0

    async def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.target)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if request.method != "GET":
            return Reply(405, _JSON, b'{"error": "method not allowed"}')
        if parts.path == "/res/v1/web/search":
            self.brave.requests.append(RecordedSearch("brave", parts.path, params, request.headers))
            return await self._brave(request, params)
        if parts.path == "/search.json":
            self.serpapi.requests.append(
                RecordedSearch("serpapi", parts.path, params, request.headers)
            )
            return await self._serpapi(params)
        return Reply(404, _JSON, b'{"error": "not found"}')

    # --- Brave ----------------------------------------------------------------------------

    def _brave_error(self, status: int, code: str, detail: str, component: str) -> Reply:
        body = {
            "type": "ErrorResponse",
            "error": {
                "id": str(uuid.UUID(int=len(self.brave.requests))),
                "status": status,
                "code": code,
                "detail": detail,
                "meta": {"component": component},
            },
            "time": 1_767_225_600,
        }
        return Reply(status, _JSON, json.dumps(body).encode())

    async def _brave(self, request: Request, params: dict[str, str]) -> Reply:
        token = request.headers.get("x-subscription-token")
        if self.brave.key is not None and token != self.brave.key:
            return self._brave_error(
                422,
                "SUBSCRIPTION_TOKEN_INVALID",
                "The provided subscription token is invalid.",
                "authentication",
            )
        if self.brave.failures:
            failure = self.brave.failures.popleft()
            if failure.stall:
                await trio.sleep_forever()
            code = failure.code or ("RATE_LIMITED" if failure.status == 429 else "UNKNOWN")
            return self._brave_error(failure.status, code, f"simulated {code}", "sim")
        query = params.get("q", "").strip()
        try:
            count = int(params.get("count", "20"))
        except ValueError:
            count = -1
        if not query or not 1 <= count <= 20:
            return self._brave_error(
                422, "VALIDATION", "Unable to validate request parameter(s)", "validation"
            )
        hits = self.brave.hits_for(query)[:count]
        body: dict[str, object] = {
            "type": "search",
            "query": {"original": query, "more_results_available": False},
        }
        if hits:
            body["web"] = {
                "type": "search",
                "family_friendly": True,
                "results": [
                    {
                        "type": "search_result",
                        "title": hit.title,
                        "url": hit.url,
                        "description": hit.snippet,
                        "is_source_local": False,
                        "is_source_both": False,
                        "language": "en",
                        "family_friendly": True,
                        "profile": {"name": urlsplit(hit.url).hostname or "", "url": hit.url},
                        "meta_url": {
                            "scheme": urlsplit(hit.url).scheme,
                            "netloc": urlsplit(hit.url).netloc,
                            "hostname": urlsplit(hit.url).hostname or "",
                            "path": urlsplit(hit.url).path,
                        },
                    }
                    for hit in hits
                ],
            }
        return Reply(200, _JSON, json.dumps(body).encode())

    # --- SerpAPI --------------------------------------------------------------------------

    async def _serpapi(self, params: dict[str, str]) -> Reply:
        if self.serpapi.key is not None and params.get("api_key") != self.serpapi.key:
            invalid = {
                "error": "Invalid API key. Your API key should be here: "
                "https://serpapi.com/manage-api-key"
            }
            return Reply(401, _JSON, json.dumps(invalid).encode())
        if self.serpapi.failures:
            failure = self.serpapi.failures.popleft()
            if failure.stall:
                await trio.sleep_forever()
            message = failure.code or (
                "Your account has run out of searches."
                if failure.status == 429
                else "Internal server error (simulated)."
            )
            return Reply(failure.status, _JSON, json.dumps({"error": message}).encode())
        query = params.get("q", "")
        if not query:
            return Reply(400, _JSON, b'{"error": "Missing query `q` parameter."}')
        if params.get("engine", "google") != "google":
            return Reply(400, _JSON, b'{"error": "Unsupported engine (simulated)."}')
        try:
            num = int(params.get("num", "10"))
        except ValueError:
            num = 10
        hits = self.serpapi.hits_for(query)[: max(num, 0)]
        search_id = f"{len(self.serpapi.requests):024x}"
        body: dict[str, object] = {
            "search_metadata": {
                "id": search_id,
                "status": "Success",
                "json_endpoint": f"https://serpapi.com/searches/{search_id}.json",
                "total_time_taken": 0.42,
            },
            "search_parameters": {
                "engine": "google",
                "q": query,
                "google_domain": "google.com",
                "device": "desktop",
            },
        }
        if hits:
            body["search_information"] = {
                "organic_results_state": "Results for exact spelling",
                "query_displayed": query,
            }
            body["organic_results"] = [
                {
                    "position": n,
                    "title": hit.title,
                    "link": hit.url,
                    "redirect_link": f"https://www.google.com/url?q={quote(hit.url)}",
                    "displayed_link": hit.url.split("://", 1)[-1],
                    "snippet": hit.snippet.replace("<strong>", "").replace("</strong>", ""),
                    "source": urlsplit(hit.url).hostname or "",
                }
                for n, hit in enumerate(hits, 1)
            ]
        else:
            body["search_information"] = {
                "organic_results_state": "Fully empty",
                "query_displayed": query,
            }
            body["error"] = "Google hasn't returned any results for this query."
        return Reply(200, _JSON, json.dumps(body).encode())


@asynccontextmanager
async def open_search_sim(
    *,
    brave_key: str | None = None,
    serpapi_key: str | None = None,
    host: str = "127.0.0.1",
    default: Callable[[str], list[SimHit]] | None = None,
) -> AsyncIterator[SearchSim]:
    """Run a `SearchSim` on ``host`` at an ephemeral port for the duration of the block;
    ``default`` makes the results of unscripted queries (None: `default_hits`)."""
    sim = SearchSim(brave_key, serpapi_key, default)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve, sim.handle, host))
        sim.host, sim.port = host, port
        sim.url = f"http://{host}:{port}"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
