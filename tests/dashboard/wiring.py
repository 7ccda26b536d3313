"""`clanker sandbox`-style wiring for the dashboard tests, browser test and benchmark.

The real pieces — runtime, Store, Telemetry, the sandbox Discord, the DiscordBridge running
discord.py-self, the Dashboard — plus `Responder`, a stand-in for the text brain (which lands
separately): for each member's message it stores the message, decides (admitted, or skipped and
why, reading the live settings), "calls a model" (a deterministic local echo with token counts and
a price), replies through the bridge and logs that trail to the action log, exactly the kinds the
dashboard's activity feed draws. The lead swaps in the real `clanker sandbox` wiring later.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio
import trio_asyncio

from clanker.dashboard import (
    TELEMETRY_NAME,
    CrashOnRequest,
    DashboardAddress,
    DashboardConfig,
    DashboardParts,
    GetAddress,
    ModelSettingsSource,
    PlaceholderSettings,
    dashboard_children,
)
from clanker.discord.bridge import BridgeConfig, DiscordBridge
from clanker.discord.events import BridgeReady, MessageCreated, SendMessage, Sent
from clanker.runtime import ActorContext, ChildSpec, Runtime, SupervisorSpec, handles, open_runtime
from clanker.sandbox import Sandbox, demo_world, open_sandbox
from clanker.store import (
    LogAction,
    StoreClient,
    StoreMessage,
    fold_content,
    store_child,
    to_iso,
    to_json,
)

PRICE_PER_TOKEN = 0.000_003  # $3 per million tokens, the stand-in model's price
MODEL = ("sandbox", "echo-1")


class Responder(CrashOnRequest):
    """Stand-in for the text brain; registered as the bridge's router (see module docstring)."""

    def __init__(self, bot_id: int | None = None) -> None:
        self.ctx: ActorContext | None = None
        # Known up front: BridgeReady comes once per login, and a restarted responder that
        # waited for it would take the bot's own replies for a member's and answer itself.
        self.bot_id = bot_id

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx

    def _store(self) -> StoreClient:
        assert self.ctx is not None
        return StoreClient(self.ctx.lookup("store"))

    @handles(BridgeReady)
    async def ready(self, msg: BridgeReady) -> None:
        self.bot_id = msg.user_id

    @handles(MessageCreated)
    async def message(self, msg: MessageCreated) -> None:
        assert self.ctx is not None
        m = msg.message
        store = self._store()
        await store.store_message(
            StoreMessage(
                message_id=m.message_id,
                guild_id=m.guild_id,
                channel_id=m.channel_id,
                author_id=m.author_id,
                author_name=m.author_name,
                content=fold_content(m.content, attachment_urls=(a.url for a in m.attachments)),
                created_at=m.created_at,
                is_bot=m.author_id == self.bot_id,
                reply_to_message_id=m.reply_to_message_id,
            )
        )
        if m.author_id == self.bot_id:
            return
        settings = (await ModelSettingsSource(self._store, PlaceholderSettings).get()).document
        where = {
            "guild_id": m.guild_id,
            "channel_id": m.channel_id,
            "message_id": m.message_id,
            "user_id": m.author_id,
        }
        if not settings["permissions"]["allow_replies"]:
            decision, reason = "skipped", "replies are turned off in settings"
        elif str(m.author_id) in settings["permissions"]["blocked_user_ids"]:
            decision, reason = "skipped", "the author is blocked in settings"
        else:
            decision, reason = "admitted", "a member spoke in a reply channel"
        await store.log_action(
            LogAction(
                kind="reply_admission",
                content=m.content,
                metadata=to_json({"decision": decision, "reason": reason, "author": m.author_name}),
                **where,
            )
        )
        if decision == "skipped":
            return
        started = trio.current_time()
        name = settings["identity"]["bot_name"]
        text = f"{name} here: got it, {m.author_name} ({m.content!r})"
        tokens_in, tokens_out = 40 + len(m.content.split()), len(text.split())
        latency_ms = round((trio.current_time() - started) * 1000, 3)
        await store.log_action(
            LogAction(
                kind="llm_call",
                content=text,
                metadata=to_json(
                    {
                        "provider": MODEL[0],
                        "model": MODEL[1],
                        "input_tokens": tokens_in,
                        "output_tokens": tokens_out,
                        "latency_ms": latency_ms,
                    }
                ),
                usd_cost=round((tokens_in + tokens_out) * PRICE_PER_TOKEN, 9),
                **where,
            )
        )
        sent = await self.ctx.lookup("bridge").ask(
            SendMessage(channel_id=m.channel_id, content=text, reply_to_message_id=m.message_id),
            Sent,
            timeout=30.0,
        )
        await store.log_action(
            LogAction(
                kind="sent_reply",
                content=text,
                metadata=to_json({"sent_message_id": str(sent.message.message_id)}),
                **where,
            )
        )


@dataclass
class Wired:
    """A running sandbox + bot + dashboard."""

    rt: Runtime
    sandbox: Sandbox
    parts: DashboardParts
    url: str

    @property
    def token(self) -> str:
        return self.parts.token

    def store(self) -> StoreClient:
        return StoreClient(self.rt.lookup("store"))


def history_actions(now: datetime, days: int = 6) -> list[LogAction]:
    """LLM calls on past days with three models, so the costs view has something to draw."""
    models = [
        ("anthropic", "claude-sonnet-4-6", 0.012),
        ("openai", "gpt-5-mini", 0.002),
        ("anthropic", "claude-haiku-4-5", 0.004),
    ]
    out = []
    for day in range(days, 0, -1):
        at = now - timedelta(days=day)
        for i, (provider, model, price) in enumerate(models):
            for n in range((day + i) % 4 + 1):
                meta = {
                    "provider": provider,
                    "model": model,
                    "input_tokens": 900 + 37 * n,
                    "output_tokens": 120 + 11 * n,
                    "latency_ms": 800 + 90 * n,
                }
                out.append(
                    LogAction(
                        kind="llm_call",
                        metadata=to_json(meta),
                        usd_cost=round(price * (1 + n / 3), 6),
                        created_at=to_iso(at + timedelta(minutes=n)),
                    )
                )
    return out


@asynccontextmanager
async def wired_sandbox(
    db_path: Path,
    *,
    config: DashboardConfig | None = None,
    environ: Mapping[str, str] | None = None,
    seed_history: bool = False,
    announce: Any = None,
) -> AsyncIterator[Wired]:
    """Run the whole stack; yields once the bot is logged in and the dashboard is bound."""
    config = config or DashboardConfig(port=0, allow_operator_crash=True)
    async with open_sandbox(demo_world()) as sb, trio_asyncio.open_loop():
        parts = dashboard_children(
            config, sandbox=sb, environ=environ or {}, announce=announce or (lambda line: None)
        )
        bridge = BridgeConfig(
            token=sb.token, route_to="router", rest_url=sb.rest_url, gateway_url=sb.gateway_url
        )
        spec = SupervisorSpec(
            children=[
                parts.telemetry,
                store_child(db_path, action_listener=TELEMETRY_NAME),
                ChildSpec("responder", lambda: Responder(sb.world.bot.id), register="router"),
                ChildSpec("bridge", lambda: DiscordBridge(bridge), register="bridge"),
                parts.dashboard,
            ],
            intensity=10,
            period=10.0,
        )
        async with open_runtime(spec) as rt:
            if seed_history:
                store = StoreClient(rt.lookup("store"))
                for action in history_actions(datetime.now(UTC)):
                    await store.log_action(action)
            address = await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)
            yield Wired(rt=rt, sandbox=sb, parts=parts, url=address.url)


def describe(wired: Wired) -> str:
    """One JSON line for a driver process: where the dashboard is and its token."""
    return json.dumps({"url": wired.url, "token": wired.token})
