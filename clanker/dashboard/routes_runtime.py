"""Routes: the session (login / logout), health, the supervision tree, the live runtime-event
stream, and the operator's crash button."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator

import trio
from quart import Response, request
from quart_trio import QuartTrio

from clanker.dashboard.auth import SESSION_COOKIE
from clanker.dashboard.context import ApiContext, ApiProblem, read_body
from clanker.dashboard.operator import ActorPathError, OperatorCrash, actor_at
from clanker.dashboard.shapes import (
    CrashAccepted,
    CrashBody,
    DiscordHealth,
    Health,
    LoginBody,
    SessionState,
)
from clanker.dashboard.sse import HEARTBEAT, RETRY, frame, receive_within, sse_response
from clanker.discord.events import BRIDGE_NAME, BridgeStatus, GetBridgeStatus
from clanker.runtime import ActorCrashed, ActorError

log = logging.getLogger("clanker.dashboard")

# After a runtime event, the next tree snapshot follows this soon (a burst sends one snapshot).
SNAPSHOT_AFTER_EVENT = 0.05


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/auth/session")
    async def session_state() -> Response:
        method = ctx.auth.authorise(request.headers, request.cookies.get(SESSION_COOKIE))
        return ctx.json(SessionState(authenticated=method is not None, method=method))

    @app.post("/api/auth/session")
    async def login() -> Response:
        address = request.remote_addr or "?"
        now = trio.current_time()
        wait = ctx.throttle.retry_after(address, now)
        if wait is not None:
            problem = ApiProblem(
                429,
                f"too many wrong tokens from {address}: try again in {math.ceil(wait)} s",
            )
            problem.headers["Retry-After"] = str(math.ceil(wait))
            raise problem
        body = await read_body(LoginBody)
        if not ctx.auth.token_matches(body.token):
            ctx.throttle.failed(address, now)
            log.warning("dashboard login with a wrong token from %s", address)
            raise ApiProblem(401, "wrong dashboard token")
        ctx.throttle.succeeded(address)
        response = ctx.json(SessionState(authenticated=True, method="cookie"))
        response.set_cookie(
            SESSION_COOKIE,
            ctx.auth.open_session(),
            max_age=int(ctx.config.session_ttl),
            httponly=True,
            secure=ctx.config.secure_cookies,
            samesite="Strict",
            path="/",
        )
        return response

    @app.delete("/api/auth/session")
    async def logout() -> Response:
        if ctx.auth.authorise(request.headers, request.cookies.get(SESSION_COOKIE)) is None:
            raise ApiProblem(401, "not logged in")
        ctx.auth.close_session(request.cookies.get(SESSION_COOKIE))
        response = ctx.json(SessionState(authenticated=False))
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            httponly=True,
            secure=ctx.config.secure_cookies,
            samesite="Strict",
        )
        return response

    @app.get("/api/health")
    async def health() -> Response:
        return ctx.json(
            Health(
                ok=True,
                version=ctx.version,
                sandbox=ctx.sandbox is not None,
                uptime_seconds=round(ctx.uptime(), 3),
                operator_crash=ctx.config.allow_operator_crash,
                discord=await _discord_health(ctx),
            )
        )

    @app.get("/api/tree")
    async def tree() -> Response:
        return ctx.json(ctx.runtime.snapshot())

    @app.get("/api/runtime/events")
    async def runtime_events() -> Response:
        return await sse_response(_runtime_stream(ctx))

    @app.post("/api/actors/crash")
    async def crash() -> Response:
        body = await read_body(CrashBody)
        if not ctx.config.allow_operator_crash:
            raise ApiProblem(
                403, "the operator crash tool is off (DashboardConfig.allow_operator_crash)"
            )
        try:
            ref = actor_at(ctx.runtime, body.path)
        except ActorPathError as exc:
            raise ApiProblem(404, str(exc)) from None
        try:
            await ref.ask(OperatorCrash(), timeout=10.0)
        except ActorCrashed as exc:
            return ctx.json(CrashAccepted(path=body.path, error=str(exc)), 202)
        except ActorError as exc:
            raise ApiProblem(409, f"{body.path} could not be crashed: {exc}") from None
        raise ApiProblem(409, f"{body.path} handled the crash request without crashing")


async def _runtime_stream(ctx: ApiContext) -> AsyncIterator[bytes]:
    events = ctx.runtime.events
    sub = events.open(ctx.config.subscriber_capacity)
    handle = ctx.streams.track(lambda: events.close(sub))
    interval = ctx.config.snapshot_interval
    try:
        yield RETRY
        last = ctx.encode(ctx.runtime.snapshot())
        yield frame("snapshot", last)
        now = trio.current_time()
        snapshot_due = now + interval
        heartbeat_due = now + ctx.config.heartbeat_seconds
        dropped = 0
        while True:
            wait = min(snapshot_due, heartbeat_due) - trio.current_time()
            try:
                event = await receive_within(sub.receive, wait)
            except trio.EndOfChannel:
                return
            now = trio.current_time()
            if event is not None:
                yield frame("runtime", ctx.encode(event))
                heartbeat_due = now + ctx.config.heartbeat_seconds
                snapshot_due = min(snapshot_due, now + SNAPSHOT_AFTER_EVENT)
            if sub.dropped > dropped:
                dropped = sub.dropped
                yield frame("dropped", b'{"dropped":%d}' % dropped)
            if now >= snapshot_due:
                snapshot = ctx.encode(ctx.runtime.snapshot())
                if snapshot != last:
                    last = snapshot
                    yield frame("snapshot", snapshot)
                    heartbeat_due = now + ctx.config.heartbeat_seconds
                snapshot_due = now + interval
            if now >= heartbeat_due:
                yield HEARTBEAT
                heartbeat_due = now + ctx.config.heartbeat_seconds
    finally:
        ctx.streams.untrack(handle)
        events.close(sub)


async def _discord_health(ctx: ApiContext) -> DiscordHealth | None:
    """The bridge's status, or None when no bridge answers within a second."""
    try:
        status = await ctx.runtime.lookup(BRIDGE_NAME).ask(
            GetBridgeStatus(), BridgeStatus, timeout=1.0
        )
    except ActorError:
        return None
    return DiscordHealth(
        state=status.state,
        relogins=status.relogins,
        seconds_since_heard=round(status.seconds_since_heard, 3),
        inbound_depth=status.inbound_depth,
        inbound_capacity=status.inbound_capacity,
        inbound_dropped=status.inbound_dropped,
        lanes=status.lanes,
        lane_refusals=status.lane_refusals,
    )
