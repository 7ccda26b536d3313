"""`VoiceSim`: one local server speaking OpenAI's audio API and ElevenLabs' text-to-speech.

    async with open_voicesim(api_key="k") as sim:
        sim.script_transcription("hello there", server_error())
        client = openai.AsyncOpenAI(base_url=sim.openai_url, api_key="k")
        ...
        assert sim.requests[0].audio.rate == 16_000

Routes: ``POST /v1/audio/transcriptions``, ``POST /v1/audio/speech`` (OpenAI, at
``sim.openai_url``), ``POST /v1/text-to-speech/{voice_id}/stream`` and
``POST /v1/text-to-speech/{voice_id}`` (ElevenLabs, at ``sim.elevenlabs_url``). Transcriptions
take the next scripted transcription turn (else `duration_transcript`); the two speech routes
take the next speech turn (else they speak the text). With ``api_key`` set, a request without
that key (``Authorization: Bearer`` for OpenAI, ``xi-api-key`` for ElevenLabs) gets a 401 in
the provider's shape and takes no turn; so does a malformed request (400 / 422).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote

import trio

# The llmsim's small HTTP/1.1 server streams chunked bodies and notices hang-ups: all this
# sim needs.
from clanker.llmsim._http import DropConnection, Reply, Request, serve
from clanker.voicesim import elevenlabs_api, openai_audio
from clanker.voicesim._multipart import MultipartError, boundary_of, parse_multipart
from clanker.voicesim._pcm import MS_PER_CHAR, read_wav, speech_pcm, split_odd
from clanker.voicesim.script import (
    Api,
    Disconnect,
    RecordedAudioRequest,
    SimError,
    SimTranscript,
    SpeechTurn,
    Stall,
    TranscriptionTurn,
    duration_transcript,
)

_SECRET_HEADERS = ("authorization", "xi-api-key")
_ELEVEN_PREFIX = "/v1/text-to-speech/"


def _route(method: str, path: str) -> tuple[Api | None, str | None, bool]:
    """(api, ElevenLabs voice id, streamed) of a request path."""
    if method == "POST" and path == "/v1/audio/transcriptions":
        return "transcription", None, False
    if method == "POST" and path == "/v1/audio/speech":
        return "openai_speech", None, True
    if method == "POST" and path.startswith(_ELEVEN_PREFIX):
        rest = path[len(_ELEVEN_PREFIX) :]
        voice, _, tail = rest.partition("/")
        if voice and tail in ("", "stream"):
            return "elevenlabs", unquote(voice), tail == "stream"
    return None, None, False


class VoiceSim:
    """A scripted fake of the cloud speech providers (see the module docstring). Build it with
    `open_voicesim`.

    ``speech_chunks`` is how many pieces a spoken answer is cut into (at odd byte offsets, so
    every cut splits a sample), ``chunk_gap`` the pause between two pieces and
    ``first_chunk_delay`` the wait before the first: streaming is observable.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        ms_per_char: float = MS_PER_CHAR,
        speech_chunks: int = 4,
        chunk_gap: float = 0.02,
        first_chunk_delay: float = 0.0,
        elevenlabs_voices: frozenset[str] | None = None,
        default_transcript: Callable[[RecordedAudioRequest], str] = duration_transcript,
    ) -> None:
        self.api_key = api_key
        self.ms_per_char = ms_per_char
        self.speech_chunks = max(1, speech_chunks)
        self.chunk_gap = chunk_gap
        self.first_chunk_delay = first_chunk_delay
        self.elevenlabs_voices = elevenlabs_voices
        self.default_transcript = default_transcript
        self.requests: list[RecordedAudioRequest] = []
        self.url = ""
        self._transcriptions: deque[TranscriptionTurn] = deque()
        self._speech: deque[SpeechTurn] = deque()
        self._serial = itertools.count(1)
        self._changed = trio.Event()
        self._by_request: dict[int, RecordedAudioRequest] = {}

    @property
    def openai_url(self) -> str:
        """``base_url`` for ``openai.AsyncOpenAI``."""
        return f"{self.url}/v1"

    @property
    def elevenlabs_url(self) -> str:
        """The ElevenLabs base URL (paths start with ``/v1/``)."""
        return self.url

    def script_transcription(self, *turns: TranscriptionTurn) -> None:
        """Queue answers for the next transcription requests, in order."""
        self._transcriptions.extend(turns)

    def script_speech(self, *turns: SpeechTurn) -> None:
        """Queue turns for the next speech requests (either provider), in order."""
        self._speech.extend(turns)

    @property
    def pending(self) -> int:
        """Scripted turns not yet used (both queues)."""
        return len(self._transcriptions) + len(self._speech)

    def speech_for(self, text: str, rate: int, *, speed: float = 1.0) -> bytes:
        """The exact PCM this sim speaks for ``text`` at ``rate``."""
        return speech_pcm(text, rate, ms_per_char=self.ms_per_char, speed=speed)

    async def wait_for_requests(self, count: int) -> list[RecordedAudioRequest]:
        """Wait until at least ``count`` requests arrived."""
        await self.wait_until(lambda: len(self.requests) >= count)
        return self.requests

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; checked whenever a request arrives, sends a
        chunk, finishes or is abandoned by its client."""
        while not predicate():
            await self._changed.wait()

    def _change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # --- serving ------------------------------------------------------------------------------

    def _record(self, request: Request, api: Api | None) -> RecordedAudioRequest:
        path, _, query = request.target.partition("?")
        headers = {
            k: ("<redacted>" if k in _SECRET_HEADERS else v) for k, v in request.headers.items()
        }
        recorded = RecordedAudioRequest(
            api=api,
            method=request.method,
            path=path,
            query=dict(parse_qsl(query)),
            headers=headers,
            at=trio.current_time(),
        )
        self.requests.append(recorded)
        self._by_request[id(request)] = recorded
        self._change()
        return recorded

    def _finish(self, request: Request, recorded: RecordedAudioRequest) -> None:
        recorded.finished_at = trio.current_time()
        self._by_request.pop(id(request), None)
        self._change()

    def _hung_up(self, request: Request) -> None:
        recorded = self._by_request.pop(id(request), None)
        if recorded is not None:
            recorded.hung_up = True
            recorded.finished_at = trio.current_time()
            self._change()

    def _key_problem(self, request: Request, api: Api) -> str | None:
        """None if the key is right; else how the sent key is shown in the 401."""
        if self.api_key is None:
            return None
        if api == "elevenlabs":
            sent = request.headers.get("xi-api-key", "")
        else:
            sent = request.headers.get("authorization", "").removeprefix("Bearer ")
        if sent == self.api_key:
            return None
        return sent[:3] + "*" * 4 + sent[-4:] if len(sent) > 8 else ("*" * len(sent))

    def _error(self, api: Api | None, error: SimError, recorded: RecordedAudioRequest) -> Reply:
        request_id = f"req_voicesim_{next(self._serial)}"
        render = elevenlabs_api.error_body if api == "elevenlabs" else openai_audio.error_body
        headers, body = render(error, request_id)
        recorded.status = error.status
        recorded.error = json.loads(body)
        return Reply(error.status, headers, body)

    async def handle(self, request: Request) -> Reply:
        """Answer one HTTP request (the `_http.serve` handler)."""
        path = request.target.partition("?")[0]
        api, voice_id, streamed = _route(request.method, path)
        recorded = self._record(request, api)
        try:
            reply = await self._dispatch(request, recorded, api, voice_id, streamed)
        except openai_audio.BadInput as bad:
            reply = self._error(api, bad.error, recorded)
        except elevenlabs_api.Invalid as invalid:
            recorded.status = 422
            recorded.error = {"detail": invalid.problems}
            body = elevenlabs_api.validation_body(invalid.problems)
            reply = Reply(422, [("content-type", "application/json")], body)
        if reply.chunks is None:
            self._finish(request, recorded)
        return reply

    async def _dispatch(
        self,
        request: Request,
        recorded: RecordedAudioRequest,
        api: Api | None,
        voice_id: str | None,
        streamed: bool,
    ) -> Reply:
        if api is None:
            recorded.status = 404
            not_found = json.dumps({"detail": "Not Found"}).encode()
            return Reply(404, [("content-type", "application/json")], not_found)
        shown = self._key_problem(request, api)
        if shown is not None:
            if api == "elevenlabs":
                error = SimError(401, "Invalid API key", code="invalid_api_key")
            else:
                error = openai_audio.unauthorized(shown)
            return self._error(api, error, recorded)
        if api == "transcription":
            return await self._transcribe(request, recorded)
        if api == "openai_speech":
            try:
                body: Any = json.loads(request.body)
            except ValueError:
                body = None
            recorded.fields = body if isinstance(body, dict) else {}
            speech = openai_audio.speech_request(body)
            pcm = self.speech_for(speech.text, openai_audio.SPEECH_RATE, speed=speech.speed)
            header = openai_audio.wav_header(len(pcm)) if speech.response_format == "wav" else b""
            content_type = "audio/wav" if header else "audio/pcm"
            return await self._speak(request, recorded, pcm, content_type, header, streamed)
        assert voice_id is not None
        try:
            fields: Any = json.loads(request.body)
        except ValueError:
            fields = None
        recorded.fields = fields if isinstance(fields, dict) else {}
        eleven = elevenlabs_api.tts_request(
            voice_id, recorded.query, request.body, self.elevenlabs_voices
        )
        pcm = self.speech_for(eleven.text, eleven.rate, speed=eleven.speed)
        return await self._speak(request, recorded, pcm, "audio/pcm", b"", streamed)

    async def _transcribe(self, request: Request, recorded: RecordedAudioRequest) -> Reply:
        try:
            parts = parse_multipart(request.body, boundary_of(request.headers.get("content-type")))
            form = openai_audio.transcription_form(parts)
        except MultipartError as exc:
            error = SimError(400, f"Could not parse multipart form: {exc}")
            raise openai_audio.BadInput(error) from None
        recorded.fields = form.fields
        recorded.file_name = form.file.filename
        recorded.file_content_type = form.file.content_type
        try:
            audio = read_wav(form.file.data)
        except ValueError as exc:
            message = f"Invalid file format: voicesim decodes WAV only; this file is {exc}."
            raise openai_audio.BadInput(
                SimError(400, message, code="invalid_value", param="file")
            ) from None
        recorded.audio = audio
        if audio.duration < openai_audio.MIN_CLIP_SECONDS:
            message = (
                f"Audio file is too short. Minimum audio length is "
                f"{openai_audio.MIN_CLIP_SECONDS} seconds."
            )
            raise openai_audio.BadInput(
                SimError(400, message, code="audio_too_short", param="file")
            )
        turn = (
            self._transcriptions.popleft()
            if self._transcriptions
            else self.default_transcript(recorded)
        )
        item = turn(recorded) if callable(turn) else turn
        if isinstance(item, SimError):
            if item.delay > 0:
                await trio.sleep(item.delay)
            return self._error("transcription", item, recorded)
        if isinstance(item, Stall):
            await trio.sleep_forever()
        if isinstance(item, Disconnect):
            raise DropConnection()
        answer = SimTranscript(item) if isinstance(item, str) else item
        content_type, body = openai_audio.transcription_reply(answer, form.fields, audio.duration)
        recorded.status = 200
        headers = [
            ("content-type", content_type),
            ("x-request-id", f"req_voicesim_{next(self._serial)}"),
        ]
        return Reply(200, headers, body)

    async def _speak(
        self,
        request: Request,
        recorded: RecordedAudioRequest,
        pcm: bytes,
        content_type: str,
        header: bytes,
        streamed: bool,
    ) -> Reply:
        turn = self._speech.popleft() if self._speech else None
        item = turn(recorded) if callable(turn) else turn
        if isinstance(item, SimError):
            if item.delay > 0:
                await trio.sleep(item.delay)
            return self._error(recorded.api, item, recorded)
        if isinstance(item, (Stall, Disconnect)) and item.after_chunks is None:
            if isinstance(item, Stall):
                await trio.sleep_forever()
            raise DropConnection()
        recorded.status = 200
        recorded.speech = pcm
        id_header = "request-id" if recorded.api == "elevenlabs" else "x-request-id"
        headers = [
            ("content-type", content_type),
            (id_header, f"req_voicesim_{next(self._serial)}"),
        ]
        if not streamed:
            recorded.chunk_times.append(trio.current_time())
            return Reply(200, headers, header + pcm)
        return Reply(200, headers, chunks=self._chunks(request, recorded, header, pcm, item))

    async def _chunks(
        self,
        request: Request,
        recorded: RecordedAudioRequest,
        header: bytes,
        pcm: bytes,
        stop: Stall | Disconnect | None,
    ) -> AsyncIterator[bytes]:
        if self.first_chunk_delay > 0:
            await trio.sleep(self.first_chunk_delay)
        if header:
            yield header
        for index, (start, end) in enumerate(split_odd(len(pcm), self.speech_chunks)):
            if stop is not None and stop.after_chunks == index:
                await self._stop(stop)
            if index:
                await trio.sleep(self.chunk_gap)
            yield pcm[start:end]
            recorded.chunk_times.append(trio.current_time())
            self._change()
        if stop is not None:
            await self._stop(stop)
        self._finish(request, recorded)

    async def _stop(self, stop: Stall | Disconnect) -> None:
        if isinstance(stop, Stall):
            await trio.sleep_forever()
        raise DropConnection()


@asynccontextmanager
async def open_voicesim(
    *,
    api_key: str | None = None,
    ms_per_char: float = MS_PER_CHAR,
    speech_chunks: int = 4,
    chunk_gap: float = 0.02,
    first_chunk_delay: float = 0.0,
    elevenlabs_voices: frozenset[str] | None = None,
    default_transcript: Callable[[RecordedAudioRequest], str] = duration_transcript,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[VoiceSim]:
    """Run a `VoiceSim` on ``host`` (at an ephemeral port unless ``port`` is given) for the
    duration of the block."""
    sim = VoiceSim(
        api_key=api_key,
        ms_per_char=ms_per_char,
        speech_chunks=speech_chunks,
        chunk_gap=chunk_gap,
        first_chunk_delay=first_chunk_delay,
        elevenlabs_voices=elevenlabs_voices,
        default_transcript=default_transcript,
    )
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(
            partial(serve, sim.handle, host, port=port, on_hang_up=sim._hung_up)
        )
        sim.url = f"http://{host}:{bound}"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
