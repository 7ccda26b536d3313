"""Route: which model embeds what clanker remembers, and how far a re-embedding is (asked of
the memory service: `EmbeddingStatus`)."""

from __future__ import annotations

from quart import Response
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem
from clanker.dashboard.shapes import MemoryEmbedding
from clanker.memory.service import MEMORY_NAME, EmbeddingProgress, EmbeddingStatus
from clanker.runtime import ActorError, NotRegistered

STATUS_TIMEOUT = 5.0  # the service answers between two requests (a write may embed first)


def embedding_view(p: EmbeddingProgress) -> MemoryEmbedding:
    """The browser's view of the service's progress."""
    return MemoryEmbedding(
        provider=p.provider,
        model=p.model,
        label=p.label,
        embedded=p.embedded,
        active=p.active,
        running=p.running,
        complete=p.complete,
        last_error=p.last_error,
        setting_problem=p.setting_problem,
        problem=p.problem,
    )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add this route to ``app``."""

    @app.get("/api/memory/embedding")
    async def memory_embedding() -> Response:
        try:
            progress = await ctx.runtime.lookup(MEMORY_NAME).ask(
                EmbeddingStatus(), EmbeddingProgress, timeout=STATUS_TIMEOUT
            )
        except NotRegistered:
            raise ApiProblem(503, "the memory service is not running; try again shortly") from None
        except ActorError as exc:
            raise ApiProblem(503, f"the memory service did not answer: {exc}") from None
        return ctx.json(embedding_view(progress))
