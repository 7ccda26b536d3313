"""`Settings`: the actor that owns the live settings.

It loads the settings row from the Store when it starts, answers reads from memory, accepts
validated writes with compare-and-swap on the Store's version, and tells every subscriber a
`SettingsChanged` after each change, so the rest of clanker applies new settings without a
restart. Start it after the Store (`settings_child` registers it as ``"settings"``).
"""

from __future__ import annotations

import logging

import msgspec
import trio

from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    ChildSpec,
    MailboxSpec,
    NotRegistered,
    Overflow,
    Restart,
    Runtime,
    handles,
)
from clanker.settings import messages as sm
from clanker.settings.document import SETTINGS_KEY, LoadedSettings, encode_document, load_document
from clanker.settings.model import Settings
from clanker.settings.patch import apply_patch
from clanker.settings.presets import PRESETS, preset_settings
from clanker.settings.validation import SettingsError, SettingsProblem
from clanker.store import SettingConflict, StoreClient
from clanker.store.actor import STORE_NAME

log = logging.getLogger(__name__)

SETTINGS_NAME = "settings"
"""The runtime-wide name `settings_child` registers."""


def resolve_actor(runtime: Runtime, target: str) -> ActorRef | None:
    """The actor at path ``target`` (``root/a/b``) or registered as ``target``; None if gone."""
    try:
        ref = runtime.at(target) if "/" in target else runtime.whereis(target)
    except NotRegistered:
        return None
    return ref if isinstance(ref, ActorRef) else None


async def ask_settings(ctx: ActorContext, *, timeout: float = 5.0) -> Settings | None:
    """The settings in force, from the actor registered as ``settings``; None when it is not
    running or does not answer within ``timeout`` (the caller picks its fallback)."""
    try:
        reply = await ctx.lookup(SETTINGS_NAME).ask(
            sm.GetSettings(), sm.CurrentSettings, timeout=timeout
        )
    except (ActorError, trio.TooSlowError):
        return None
    return reply.settings


class SettingsActor(Actor):
    """Owns the settings: loads them from the Store, serves them, writes them with CAS, and
    notifies subscribers of every change. See docs/settings.md."""

    mailbox = MailboxSpec(capacity=64, overflow=Overflow.BLOCK)

    def __init__(
        self, *, store: str = STORE_NAME, key: str = SETTINGS_KEY, store_timeout: float = 10.0
    ) -> None:
        self.store_name = store
        self.key = key
        self.store_timeout = store_timeout
        self.version = 0
        self.loaded = LoadedSettings(settings=Settings(), preset="default", overrides={})
        self.subscribers: dict[str, None] = {}  # ordered set of paths / names

    async def on_start(self, ctx: ActorContext) -> None:
        """Read the settings row (a stored value with problems loads what it can)."""
        self.ctx = ctx
        self.store = StoreClient(ctx.lookup(self.store_name), timeout=self.store_timeout)
        row = await self.store.get_setting(self.key)
        self._adopt(load_document(row.value), row.version)

    def _adopt(self, loaded: LoadedSettings, version: int) -> None:
        self.loaded = loaded
        self.version = version
        for problem in loaded.problems:
            log.warning("settings %r version %d: %s", self.key, version, problem)

    def _current(self) -> sm.CurrentSettings:
        return sm.CurrentSettings(
            settings=self.loaded.settings,
            version=self.version,
            preset=self.loaded.preset,
            overrides=msgspec.json.encode(self.loaded.overrides).decode(),
            problems=self.loaded.problems,
        )

    @handles(sm.GetSettings)
    async def get(self, msg: sm.GetSettings) -> sm.CurrentSettings:
        """The settings in force and their version."""
        return self._current()

    @handles(sm.UpdateSettings)
    async def update(self, msg: sm.UpdateSettings) -> sm.SettingsWriteReply:
        """Merge a patch, validate, compare-and-swap, notify."""
        if msg.expected_version != self.version:
            return self._conflict(msg.expected_version)
        patch = msgspec.json.decode(msg.patch)
        preset = self.loaded.preset
        try:
            new = apply_patch(self.loaded.settings, patch, base=preset_settings(preset))
        except SettingsError as exc:
            return sm.SettingsRejected(problems=exc.problems)
        return await self._write(preset, new)

    @handles(sm.ApplyPreset)
    async def apply_preset(self, msg: sm.ApplyPreset) -> sm.SettingsWriteReply:
        """Switch presets, keeping or dropping the overrides."""
        if msg.preset not in PRESETS:
            problem = f"no preset named {msg.preset!r}; presets: {', '.join(PRESETS)}"
            return sm.SettingsRejected(problems=(SettingsProblem(path="preset", problem=problem),))
        if msg.expected_version != self.version:
            return self._conflict(msg.expected_version)
        base = preset_settings(msg.preset)
        new = base
        if msg.keep_overrides:
            try:
                new = apply_patch(base, self.loaded.overrides, base=base)
            except SettingsError as exc:
                return sm.SettingsRejected(problems=exc.problems)
        return await self._write(msg.preset, new)

    def _conflict(self, expected: int) -> sm.SettingsConflict:
        return sm.SettingsConflict(
            expected_version=expected, current_version=self.version, settings=self.loaded.settings
        )

    async def _write(self, preset: str, new: Settings) -> sm.SettingsWriteReply:
        if preset == self.loaded.preset and new == self.loaded.settings and self.version > 0:
            # Nothing changes: no write, no version bump, no notices.
            return sm.SettingsUpdated(settings=new, version=self.version, preset=preset)
        text = encode_document(preset, new)
        result = await self.store.put_setting(self.key, text, self.version)
        if isinstance(result, SettingConflict):
            # Someone wrote the row behind our back (another process, a manual edit): adopt
            # what is there now, tell the subscribers, and let the caller retry on top of it.
            expected = self.version
            self._adopt(load_document(result.current_value), result.current_version)
            self._notify()
            return self._conflict(expected)
        self._adopt(load_document(text), result.version)
        self._notify()
        current = self.loaded.settings
        return sm.SettingsUpdated(settings=current, version=self.version, preset=preset)

    @handles(sm.SubscribeSettings)
    async def subscribe(self, msg: sm.SubscribeSettings) -> sm.CurrentSettings:
        """Add a subscriber; reply with the settings it should apply now."""
        self.subscribers[msg.subscriber] = None
        return self._current()

    @handles(sm.UnsubscribeSettings)
    async def unsubscribe(self, msg: sm.UnsubscribeSettings) -> sm.Unsubscribed:
        """Remove a subscriber."""
        existed = self.subscribers.pop(msg.subscriber, _ABSENT) is not _ABSENT
        return sm.Unsubscribed(subscriber=msg.subscriber, was_subscribed=existed)

    def _notify(self) -> None:
        notice = sm.SettingsChanged(settings=self.loaded.settings, version=self.version)
        for subscriber in list(self.subscribers):
            ref = resolve_actor(self.ctx.runtime, subscriber)
            if ref is None:
                log.info("settings subscriber %s is gone; unsubscribed", subscriber)
                del self.subscribers[subscriber]
                continue
            try:
                if not ref.try_tell(notice):
                    # A full mailbox must not stall the settings actor: deliver in the
                    # background (the notice carries its version, so order does not matter).
                    self.ctx.start_soon(self._deliver_later, ref, notice)
            except ActorError as exc:
                log.info("settings subscriber %s unreachable (%s); unsubscribed", subscriber, exc)
                del self.subscribers[subscriber]

    async def _deliver_later(self, ref: ActorRef, notice: sm.SettingsChanged) -> None:
        try:
            await ref.tell(notice)
        except ActorError as exc:
            log.info("settings notice to %s not delivered: %s", ref.path, exc)


_ABSENT = object()


def settings_child(
    *,
    name: str = SETTINGS_NAME,
    store: str = STORE_NAME,
    key: str = SETTINGS_KEY,
    restart: Restart = Restart.PERMANENT,
    shutdown: float | None = None,
) -> ChildSpec:
    """A child spec for the `SettingsActor` (place it after the Store), registered as ``name``."""
    return ChildSpec(
        name,
        lambda: SettingsActor(store=store, key=key),
        mailbox=SettingsActor.mailbox,  # a lambda factory hides the class's own spec
        restart=restart,
        shutdown=shutdown,
        register=name,
    )
