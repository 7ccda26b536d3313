"""The voice session's supervision: clankvox process and pipe reader restart together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from clanker.runtime import Backoff, ChildSpec, Restart, Strategy, SupervisorSpec
from clanker.voice.clankvox import Clankvox
from clanker.voice.framing import DEFAULT_MAX_PAYLOAD
from clanker.voice.link import VoiceLink, VoiceLinkConfig
from clanker.voice.pipe import ClankvoxPipe
from clanker.voice.pipe_reader import PipeReader

DEFAULT_BINARY = Path(__file__).resolve().parents[2] / "clankvox/target/release/clankvox"
"""Where `scripts/bootstrap` builds clankvox in a checkout."""

DEFAULT_BACKOFF = Backoff(initial=0.5, factor=2.0, maximum=8.0)
"""Restart delays for a crashing clankvox: 0.5 s, 1 s, 2 s ... at most 8 s."""


def voice_session_spec(
    *,
    target: str | None,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_children: Sequence[ChildSpec] = (),
    intensity: int = 3,
    period: float = 30.0,
    backoff: Backoff | None = DEFAULT_BACKOFF,
    stop_grace: float = 2.0,
    eof_grace: float = 5.0,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    clankvox_name: str | None = None,
) -> SupervisorSpec:
    """A one_for_all supervisor of `Clankvox` (spawns `command`, owns stdin) then `PipeReader`
    (stdout -> typed events told to the actor registered as `target`), then `extra_children`
    (e.g. the Listener and the voice brain, which restart with the process).

    Lifecycle notices (`ClankvoxStarted`, `ClankvoxExited`, `PipeClosed`) go to `target` too.
    A crash or kill of clankvox is a crash of `Clankvox`: every child restarts, with `backoff`,
    at most `intensity` times in `period` seconds before the supervisor escalates. Both pipe
    actors are transient: after `Destroy` they end normally and are not restarted. Use it as
    the start of a transient child (`voice_session_child`) so the session ends for good once
    its work is done. `clankvox_name` registers the `Clankvox` actor under that name, so the
    target can tell it commands.
    """
    argv = list(command) if command is not None else [str(DEFAULT_BINARY)]
    pipe = ClankvoxPipe()
    return SupervisorSpec(
        Strategy.ONE_FOR_ALL,
        [
            ChildSpec(
                "clankvox",
                lambda: Clankvox(argv, pipe, target=target, env=env, stop_grace=stop_grace),
                restart=Restart.TRANSIENT,
                register=clankvox_name,
                mailbox=Clankvox.mailbox,
                # destroy, then SIGTERM after stop_grace, SIGKILL a second later
                shutdown=stop_grace + 3.0,
            ),
            ChildSpec(
                "pipe_reader",
                lambda: PipeReader(
                    pipe, target=target, max_payload=max_payload, eof_grace=eof_grace
                ),
                restart=Restart.TRANSIENT,
            ),
            *extra_children,
        ],
        intensity=intensity,
        period=period,
        backoff=backoff,
    )


def voice_session_child(name: str, spec: SupervisorSpec) -> ChildSpec:
    """A voice session (`voice_session_spec(...)`) as a transient child named `name` of a guild
    session's supervisor: restarted after a crash that escalates out of it, removed once it
    ends normally."""
    return ChildSpec(name, spec, restart=Restart.TRANSIENT)


def voice_link_spec(
    link_name: str,
    config: VoiceLinkConfig,
    *,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    intensity: int = 3,
    period: float = 30.0,
    backoff: Backoff | None = DEFAULT_BACKOFF,
    brain: ChildSpec | None = None,
) -> SupervisorSpec:
    """A whole voice connection: the `VoiceLink` (registered `link_name`), the pipe
    supervisor (`voice_session_spec`, its `Clankvox` registered as `config.clankvox`), then
    `brain` if given (the voice brain), under rest_for_one. A killed clankvox restarts the pipe
    and the brain (a fresh brain: in-flight turns die with the process's buffers), and the
    link, which keeps the join's values, sends them to the new process; a crashed link restarts
    everything and joins afresh; a crashed brain restarts alone. Stop order is the reverse: the
    brain, then clankvox is destroyed, then the link sends op 4 to leave.
    """
    pipe = voice_session_spec(
        target=link_name,
        command=command,
        env=env,
        intensity=intensity,
        period=period,
        backoff=backoff,
        clankvox_name=config.clankvox,
    )
    return SupervisorSpec(
        Strategy.REST_FOR_ONE,
        [
            ChildSpec(
                "link",
                lambda: VoiceLink(config),
                register=link_name,
                mailbox=VoiceLink.mailbox,
                shutdown=10.0,
            ),
            ChildSpec("pipe", pipe),
            *([brain] if brain is not None else []),
        ],
        intensity=intensity,
        period=period,
        backoff=backoff,
    )
