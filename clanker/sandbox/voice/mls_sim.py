"""The sandbox voice server's DAVE external sender: a pipe to the `dave-sim` helper binary.

`dave-sim` (the Rust crate `clankvox/dave-sim`, on openmls) holds one MLS signing key per voice
channel and builds what the voice gateway sends as DAVE's external sender: the op 25 package and
op 27 add/remove proposals. It also reads what clients send: it splits an op 28 commit from its
welcome, reads a commit's epoch, committer leaf and proposal references, and names the user behind
an op 26 key package. The request protocol is in `docs/sandbox-dave.md`.

Calls are synchronous request/reply over the helper's stdin/stdout (`subprocess.Popen`, one JSON
line each way). Each takes well under a millisecond or so on loopback, so the sandbox voice server
calls them straight from its trio thread: blocking there is accepted in the sandbox.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

DEFAULT_BINARY = Path(__file__).resolve().parents[3] / "clankvox/target/release/dave-sim"
# Overrides the default path (an explicit `binary=` argument overrides both).
BINARY_ENV = "CLANKER_DAVE_SIM"


class DaveSimError(RuntimeError):
    """The helper refused a request (its error text is the message) or is not running."""


class DaveSimMissing(DaveSimError):
    """The `dave-sim` binary is not built."""


@dataclass(frozen=True)
class Proposals:
    """An op 27 append body and its parts."""

    payload: bytes  # the op 27 body: operation byte 0, then the vector of proposal messages
    messages: tuple[bytes, ...]  # each proposal MLSMessage alone, in the payload's order
    refs: tuple[bytes, ...]  # each proposal's ProposalRef hash, in the payload's order


@dataclass(frozen=True)
class CommitWelcome:
    """A client's op 28 body, split."""

    commit: bytes  # the MLSMessage commit (what op 29 announces)
    welcome: bytes | None  # the bare Welcome (what op 30 delivers), when the commit adds members


@dataclass(frozen=True)
class CommitInfo:
    """What the delivery service reads from a commit."""

    epoch: int  # the epoch the commit was made in
    sender_leaf: int  # the committer's leaf index
    proposal_refs: tuple[bytes, ...]  # the references it commits, in its order
    inline_proposals: int  # proposals carried by value (DAVE allows none)


@dataclass(frozen=True)
class KeyPackageInfo:
    """The owner of a key package."""

    user_id: str  # the basic credential identity, a big-endian u64, in decimal
    max_lifetime: bool  # not_before = 0 and not_after = 2^64 - 1, as the voice gateway requires


class ExternalSenderLike(Protocol):
    """What `DaveDeliveryService` needs from an external sender (`MlsExternalSender` is one)."""

    def new_group(self, group: str) -> bytes: ...

    def proposals(
        self, group: str, epoch: int, add: Sequence[bytes] = (), remove: Sequence[int] = ()
    ) -> Proposals: ...

    def revoke(self, refs: Sequence[bytes]) -> bytes: ...

    def split_commit_welcome(self, payload: bytes) -> CommitWelcome: ...

    def inspect_commit(self, commit: bytes) -> CommitInfo: ...

    def key_package_user(self, key_package: bytes) -> KeyPackageInfo: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise DaveSimError(f"dave-sim answered without {what}")
    return base64.b64decode(text, validate=True)


class MlsExternalSender:
    """A running `dave-sim`: the external sender for every voice channel of one voice server.

    `binary` defaults to `$CLANKER_DAVE_SIM`, else `clankvox/target/release/dave-sim` (built by
    `scripts/bootstrap`). Close it (or use it as a context manager) to end the helper. Safe to
    call from several threads (one request at a time).
    """

    def __init__(self, binary: str | os.PathLike[str] | None = None) -> None:
        path = Path(binary or os.environ.get(BINARY_ENV) or DEFAULT_BINARY)
        if not path.is_file():
            raise DaveSimMissing(
                f"the DAVE external sender helper {path} is not built: run scripts/bootstrap "
                "(or cargo build --release --manifest-path clankvox/Cargo.toml --workspace)"
            )
        self.binary = path
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = subprocess.Popen(
            [str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # inherited: the helper only writes there if it breaks
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """End the helper (closing its stdin makes it exit 0). Idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    def __enter__(self) -> MlsExternalSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.kill()

    # -- requests -------------------------------------------------------------------------------

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """One raw request; the `ok` object of the reply. Raises `DaveSimError` with the helper's
        error text when it refuses."""
        with self._lock:
            process = self._process
            if process is None:
                raise DaveSimError("the dave-sim helper is closed")
            stdin: IO[str] | None = process.stdin
            stdout: IO[str] | None = process.stdout
            assert stdin is not None and stdout is not None
            try:
                stdin.write(json.dumps({"op": op, **fields}) + "\n")
                stdin.flush()
                line = stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                raise DaveSimError(f"the dave-sim helper is gone: {exc}") from exc
            if not line:
                raise DaveSimError(
                    f"the dave-sim helper exited (status {process.poll()}) during {op!r}"
                )
        reply = json.loads(line)
        if "error" in reply:
            raise DaveSimError(f"dave-sim {op}: {reply['error']}")
        ok = reply.get("ok")
        if not isinstance(ok, dict):
            raise DaveSimError(f"dave-sim {op}: unexpected reply {line.strip()!r}")
        return ok

    def new_group(self, group: str) -> bytes:
        """The op 25 payload for `group` (a channel id); the same every time for one group."""
        return _unb64(self.request("new_group", group=str(group))["external_sender"], "a package")

    def proposals(
        self, group: str, epoch: int, add: Sequence[bytes] = (), remove: Sequence[int] = ()
    ) -> Proposals:
        """Removes (of these leaves, in order) then adds (of these key packages, in order) for
        `group` at `epoch`, as one op 27 append body."""
        ok = self.request(
            "proposals",
            group=str(group),
            epoch=epoch,
            add=[_b64(kp) for kp in add],
            remove=list(remove),
        )
        return Proposals(
            payload=_unb64(ok["payload"], "a payload"),
            messages=tuple(_unb64(m, "messages") for m in ok["messages"]),
            refs=tuple(_unb64(r, "refs") for r in ok["refs"]),
        )

    def revoke(self, refs: Sequence[bytes]) -> bytes:
        """An op 27 revoke body for these proposal references."""
        ok = self.request("revoke", refs=[_b64(r) for r in refs])
        return _unb64(ok["payload"], "a payload")

    def split_commit_welcome(self, payload: bytes) -> CommitWelcome:
        """A client's op 28 body (after the opcode byte) as commit and optional welcome."""
        ok = self.request("split_commit_welcome", payload=_b64(payload))
        welcome = ok.get("welcome")
        return CommitWelcome(
            commit=_unb64(ok["commit"], "a commit"),
            welcome=None if welcome is None else _unb64(welcome, "a welcome"),
        )

    def inspect_commit(self, commit: bytes) -> CommitInfo:
        """A commit's epoch, committer leaf and proposal references."""
        ok = self.request("inspect_commit", commit=_b64(commit))
        return CommitInfo(
            epoch=int(ok["epoch"]),
            sender_leaf=int(ok["sender_leaf"]),
            proposal_refs=tuple(_unb64(r, "refs") for r in ok["proposal_refs"]),
            inline_proposals=int(ok["inline_proposals"]),
        )

    def key_package_user(self, key_package: bytes) -> KeyPackageInfo:
        """The user a key package belongs to (its signature checked)."""
        ok = self.request("key_package_user", key_package=_b64(key_package))
        return KeyPackageInfo(user_id=str(ok["user_id"]), max_lifetime=bool(ok["max_lifetime"]))
