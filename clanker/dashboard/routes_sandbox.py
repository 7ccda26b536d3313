"""Routes: the sandbox chat panel (only in sandbox mode): the simulated world, a channel's
messages, posting as a simulated member, saying something aloud in the voice call (typed, or
push-to-talk from the browser's microphone), and the live message stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import RequestEntityTooLarge

from clanker.dashboard.context import (
    ApiContext,
    ApiProblem,
    path_id,
    query_id,
    query_int,
    read_body,
)
from clanker.dashboard.sandbox_chat import ChatRefused, SandboxChat
from clanker.dashboard.shapes import ChatMessage, PostBody, SayBody
from clanker.dashboard.speech_upload import (
    MAX_BYTES,
    MAX_SECONDS,
    SPEAK_PATH,
    SpeechRejected,
    decode_speech,
)
from clanker.dashboard.sse import (
    HEARTBEAT,
    RETRY,
    frame,
    gather_burst,
    receive_within,
    sse_response,
)
from clanker.runtime import Broadcast


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    def chat() -> SandboxChat:
        if ctx.sandbox is None:
            raise ApiProblem(404, "not in sandbox mode: the chat panel needs `clanker sandbox`")
        return ctx.sandbox

    @app.get("/api/sandbox")
    async def info() -> Response:
        return ctx.json(chat().info())

    @app.get("/api/sandbox/channels/<raw_id>/messages")
    async def messages(raw_id: str) -> Response:
        sandbox = chat()
        channel_id = path_id(raw_id, "the channel id in the path")
        limit = query_int("limit", 50, 1, 100)
        try:
            return ctx.json(sandbox.messages(channel_id, limit))
        except ChatRefused as exc:
            raise ApiProblem(exc.status, str(exc)) from None

    @app.post("/api/sandbox/messages")
    async def post() -> Response:
        sandbox = chat()
        body = await read_body(PostBody)
        channel_id = path_id(body.channel_id, "channel_id")
        author_id = None if body.author_id is None else path_id(body.author_id, "author_id")
        reply_to = None if body.reply_to is None else path_id(body.reply_to, "reply_to")
        try:
            posted = sandbox.post(channel_id, author_id, body.content, reply_to)
        except ChatRefused as exc:
            raise ApiProblem(exc.status, str(exc)) from None
        return ctx.json(posted, 201)

    @app.post("/api/sandbox/say")
    async def say() -> Response:
        sandbox = chat()
        body = await read_body(SayBody)
        author_id = None if body.author_id is None else path_id(body.author_id, "author_id")
        try:
            said = await sandbox.say_aloud(author_id, body.text)
        except ChatRefused as exc:
            raise ApiProblem(exc.status, str(exc)) from None
        return ctx.json(said)

    @app.post(SPEAK_PATH)
    async def speak() -> Response:
        """Push-to-talk: a WAV (or raw s16le with ?sample_rate=) said as ?author_id= (or the
        default member) in the voice call."""
        sandbox = chat()
        raw_author = request.args.get("author_id")
        author_id = None if not raw_author else path_id(raw_author, "author_id")
        try:
            body = await request.get_data(cache=False, as_text=False, parse_form_data=False)
        except RequestEntityTooLarge:
            problem = ApiProblem(
                413, f"the recording is over {MAX_BYTES} bytes ({MAX_SECONDS:g} s at 48 kHz)"
            )
            problem.headers["Connection"] = "close"  # the rest of the body was not read
            raise problem from None
        try:
            kind = request.headers.get("Content-Type", "")
            pcm, rate = decode_speech(bytes(body), kind, request.args.get("sample_rate"))
            said = await sandbox.speak_pcm(author_id, pcm, rate)
        except SpeechRejected as exc:
            raise ApiProblem(exc.status, str(exc)) from None
        except ChatRefused as exc:
            raise ApiProblem(exc.status, str(exc)) from None
        return ctx.json(said)

    @app.get("/api/sandbox/stream")
    async def stream() -> Response:
        chat()
        channel = query_id("channel_id")
        feed = ctx.chat_feed
        if feed is None:
            raise ApiProblem(503, "the sandbox message feed is not running")
        return await sse_response(
            _chat_stream(ctx, feed, None if channel is None else str(channel))
        )


async def _chat_stream(
    ctx: ApiContext, feed: Broadcast[ChatMessage], channel_id: str | None
) -> AsyncIterator[bytes]:
    sub = feed.open(ctx.config.subscriber_capacity)
    handle = ctx.streams.track(lambda: feed.close(sub))
    try:
        yield RETRY
        while True:
            try:
                first = await receive_within(sub.receive, ctx.config.heartbeat_seconds)
            except trio.EndOfChannel:
                return
            if first is None:
                yield HEARTBEAT
                continue
            burst, ended = await gather_burst(
                first, sub.receive_nowait, ctx.config.stream_flush_seconds
            )
            chunk = [
                frame("message", ctx.encode(m), int(m.id))
                for m in burst
                if channel_id is None or m.channel_id == channel_id
            ]
            if chunk:
                yield b"".join(chunk)
            if ended:
                return
    finally:
        ctx.streams.untrack(handle)
        feed.close(sub)
