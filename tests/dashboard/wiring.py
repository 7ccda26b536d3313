"""The real product in sandbox wiring, for the dashboard tests, the browser test and the
benchmark: `open_sandbox_app` (the sandbox Discord, discord.py-self in the DiscordBridge, the
whole tree from `clanker.app` with the dashboard in it) with the LLM's far end scripted by
llmsim (`scripted_brain`: the real Anthropic SDK, HTTP, retries and cost accounting run).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import trio

from clanker.cli.sandbox import SandboxApp, open_sandbox_app
from clanker.dashboard import DashboardConfig, DashboardParts
from clanker.guilds.messages import JoinVoice, VoiceJoined, session_name
from clanker.initiative.actor import JOB_KEY as INITIATIVE_TICK
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import LlmSim, RecordedRequest, Text, Turn, open_llmsim
from clanker.runtime import Runtime
from clanker.sandbox import Sandbox
from clanker.schedule.actor import SCHEDULER_NAME, ChangeJob, JobScheduled, ListJobs
from clanker.settings import CurrentSettings, GetSettings, SettingsUpdated, UpdateSettings
from clanker.store import LogAction, StoreClient, to_iso, to_json
from clanker.store.jobs import JobRows

PROVIDER = "anthropic"
MODEL = "claude-sonnet-4-6"
# Answer at once and back to back (the defaults wait for a burst to end and space replies out).
FAST = {"activity": {"coalesce_window_seconds": 0.0, "min_gap_seconds": 0.0}}
_ADDRESSED = (
    "Someone is talking to you directly",
    "You are part of this conversation",
    "This needs a message from you",
)


def _latest(prompt: str) -> tuple[str, str]:
    lines = prompt.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("NEW MESSAGES")), None)
    new: list[str] = []
    if start is not None:
        for line in lines[start + 1 :]:
            if not line.strip():
                break
            new.append(line)
    speaker, _, said = (new[-1] if new else "").partition(": ")
    return speaker, said.strip()


def _bot_name(request: RecordedRequest) -> str:
    system = json.dumps(request.body.get("system", ""))
    marker = "Your name here is "
    at = system.find(marker)
    if at < 0:
        return "?"
    return system[at + len(marker) :].split(".", 1)[0]


_OFFERED_CHANNEL = re.compile(r"^#(\S+) \(channel_id (\d+)\):$", re.MULTILINE)


def initiative_answer(request: RecordedRequest) -> Turn:
    """The model's decision on the initiative actor's prompt: post now in the first channel
    it was offered, ``"<bot name> here, on my own: hello #<channel>!"``, with the reason
    ``"the sandbox test asked for a post in #<channel>"``."""
    system = json.dumps(request.body.get("system", ""))
    name = system.split("You are ", 1)[-1].split(",", 1)[0]
    offered = _OFFERED_CHANNEL.search(request.user_text)
    channel, channel_id = offered.groups() if offered else ("?", "0")
    decision = {
        "action": "post_now",
        "channel_id": channel_id,
        "reply_to_message_id": None,
        "text": f"{name} here, on my own: hello #{channel}!",
        "media": "none",
        "reason": f"the sandbox test asked for a post in #{channel}",
    }
    return Text(json.dumps(decision), model=MODEL)


def scripted_brain(request: RecordedRequest) -> Turn:
    """The far end of the model: when addressed (or in a conversation), answer
    ``"<bot name> here: got it, <speaker> ('<what they said>')"`` in clanker's JSON output
    contract (the bot name read from the prompt, so a renamed bot signs with its new name);
    otherwise skip. The initiative actor's prompt ("AMBIENT TEXT MODE") gets
    `initiative_answer`: a post."""
    if "AMBIENT TEXT MODE" in json.dumps(request.body.get("system", "")):
        return initiative_answer(request)
    speaker, said = _latest(request.user_text)
    if any(cue in request.user_text for cue in _ADDRESSED):
        text = f"{_bot_name(request)} here: got it, {speaker} ({said!r})"
        return Text(json.dumps({"text": text, "skip": False, "reaction": None}), model=MODEL)
    return Text(json.dumps({"text": "", "skip": True, "reaction": None}), model=MODEL)


@dataclass
class Wired:
    """A running sandbox + clanker + dashboard."""

    app: SandboxApp
    sim: LlmSim
    parts: DashboardParts
    url: str

    @property
    def rt(self) -> Runtime:
        return self.app.runtime

    @property
    def sandbox(self) -> Sandbox:
        return self.app.sandbox

    @property
    def token(self) -> str:
        return self.parts.token

    def store(self) -> StoreClient:
        return StoreClient(self.rt.lookup("store"))


async def configure(rt: Runtime, patch: dict[str, Any]) -> int:
    """Write ``patch`` through the settings actor; returns the new version."""
    ref = rt.lookup("settings")
    current = await ref.ask(GetSettings(), CurrentSettings)
    reply = await ref.ask(UpdateSettings(patch=json.dumps(patch), expected_version=current.version))
    assert isinstance(reply, SettingsUpdated), reply
    return reply.version


async def pause_initiative_tick(rt: Runtime, timeout: float = 30.0) -> None:
    """Pause the initiative actor's 10-minute tick (once it has scheduled it), so a tick that
    falls on the clock's 10-minute mark cannot race the operator's "check now" in a test."""
    scheduler = rt.lookup(SCHEDULER_NAME)
    with trio.fail_after(timeout):
        while True:
            jobs = await scheduler.ask(ListJobs(kind="initiative"), JobRows)
            if any(j.job_key == INITIATIVE_TICK for j in jobs.rows):
                break
            await trio.sleep(0.1)
    reply = await scheduler.ask(ChangeJob(job_key=INITIATIVE_TICK, action="pause"))
    assert isinstance(reply, JobScheduled), reply


def history_actions(now: datetime, days: int = 6) -> list[LogAction]:
    """LLM calls on past days with three models, so the costs view has a history to draw
    (clearly seeded: the live calls of a test all happen today)."""
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
                    "usage": {"input_tokens": 900 + 37 * n, "output_tokens": 120 + 11 * n},
                    "latency": 0.8 + 0.09 * n,
                    "outcome": "ok",
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
    settings: dict[str, Any] | None = None,
    brain: Callable[[RecordedRequest], Turn] = scripted_brain,
    announce: Callable[[str], None] | None = None,
) -> AsyncIterator[Wired]:
    """Run the product; yields once the bot is logged in, ``settings`` (default `FAST`) are
    written and the dashboard is bound."""
    config = config or DashboardConfig(port=0, allow_operator_crash=True)
    async with open_llmsim(default=brain) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name=PROVIDER,
                    kind="anthropic",
                    model=MODEL,
                    base_url=sim.anthropic_url,
                    api_key="sk-test-sandbox",
                ),
            ),
            retry=RetryConfig(base_delay=0.05),
        )
        async with open_sandbox_app(
            db_path, llm=llm, env=environ or {}, dashboard=config, announce=announce
        ) as app:
            assert app.dashboard is not None and app.dashboard_url is not None
            await configure(app.runtime, FAST if settings is None else settings)
            wired = Wired(app=app, sim=sim, parts=app.dashboard, url=app.dashboard_url)
            if seed_history:
                store = wired.store()
                for action in history_actions(datetime.now(UTC)):
                    await store.log_action(action)
            yield wired


VOICE_TIMEOUT = 60.0  # a real clankvox process, real sockets and an MLS group, loaded machine


def libdave_privacy_code(wired: Wired, member: str) -> str | None:
    """The call's privacy code as simulated member ``member``'s own libdave computes it (30
    digits), None while it is in no MLS group."""
    import dave  # libdave's bindings (the sandbox's simulated DAVE members)

    assert wired.sandbox.voice is not None
    session = wired.sandbox.voice.member(wired.sandbox.world.user_named(member)).session
    if not session.has_established_group():
        return None
    authenticator = session.get_last_epoch_authenticator()
    return str(dave.generate_displayable_code(authenticator, 30, 5)) if authenticator else None


async def join_lounge_end_to_end(wired: Wired, member: str = "alice") -> tuple[Any, str]:
    """The bot joins the sandbox's voice channel "Lounge" (the guild session's `JoinVoice`:
    the real `VoiceLink` and clankvox), ``member`` joins as a libdave member; returns the
    ``GET /api/voice`` body and the member's privacy code once the API shows the call
    end-to-end encrypted with that code (polled, bounded by `VOICE_TIMEOUT`)."""
    sb = wired.sandbox
    lounge = sb.world.channel_named("Lounge")
    session = wired.rt.lookup(session_name(str(lounge.guild_id)))
    joined = await session.ask(JoinVoice(channel_id=lounge.id), timeout=VOICE_TIMEOUT)
    assert isinstance(joined, VoiceJoined), joined
    sb.join_voice(sb.world.user_named(member), lounge)
    body: Any = None
    code: str | None = None
    async with httpx.AsyncClient(
        base_url=wired.url,
        headers={"Authorization": f"Bearer {wired.token}"},
        timeout=VOICE_TIMEOUT,
    ) as client:
        try:
            with trio.fail_after(VOICE_TIMEOUT):
                while True:
                    body = (await client.get("/api/voice")).json()
                    code = libdave_privacy_code(wired, member)
                    connections = body["connections"]
                    e2ee = connections[0]["encryption"] if len(connections) == 1 else None
                    if e2ee and e2ee["end_to_end"] and code and e2ee["privacy_code"] == code:
                        return body, code
                    await trio.sleep(0.05)  # polling a condition, bounded by VOICE_TIMEOUT
        except trio.TooSlowError:
            raise AssertionError(
                f"/api/voice never showed the call end-to-end encrypted with {member}'s code "
                f"{code}; last answer: {body}"
            ) from None


def grouped(code: str) -> str:
    """``code`` in groups of five digits, as the SPA shows it."""
    return " ".join(code[i : i + 5] for i in range(0, len(code), 5))


def describe(wired: Wired) -> str:
    """One JSON line for a driver process: where the dashboard is and its token."""
    return json.dumps({"url": wired.url, "token": wired.token})
