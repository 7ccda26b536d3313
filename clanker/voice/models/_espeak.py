"""IPA phonemes from the Debian `espeak-ng` program, kept running as a separate process.

Piper voices are trained on espeak-ng's IPA. libespeak-ng is GPL-3, so it is never loaded into
our process (not through ctypes, not through a Python binding): we talk to the `espeak-ng`
program over pipes, as any shell would. `espeak-ng -q --ipa -v VOICE` with no text reads stdin a
line at a time and writes one line of IPA per clause, flushed as it goes; one long-lived process
answers a clause in ~1 ms where spawning one costs ~10 ms (benchmarks/voice_models.py).

espeak can split one line of ours into several clauses (it ends a clause at "Dr." or "etc."),
so after each request we send a sentinel word and read until its known IPA comes back.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import select
import shutil
import subprocess
import threading
import time

from .base import ModelError

PROGRAM = "espeak-ng"
# A word no one says, phonemized once at start-up: its IPA line marks the end of an answer.
_SENTINEL = "zqxjkvw"
_TIMEOUT = 5.0
# Characters espeak would read as markup ([[phoneme input]]) or line structure.
_UNSAFE = re.compile(r"[\[\]\x00-\x1f\x7f]")
# Language switches espeak writes around foreign words, e.g. "(fr)" ... "(en)".
_LANGUAGE_FLAG = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")


def command(voice: str) -> list[str]:
    """The espeak-ng command line that phonemizes stdin, one line at a time, for `voice`."""
    return [PROGRAM, "-q", "--ipa", "-v", voice]


def clean_text(text: str) -> str:
    """`text` as one safe line for espeak: no markup brackets, control characters or sentinel."""
    return _UNSAFE.sub(" ", text).replace(_SENTINEL, " ").strip()


def clean_ipa(lines: list[str]) -> str:
    """espeak's IPA lines for one request as one string: language flags gone, clauses spaced."""
    return " ".join(_LANGUAGE_FLAG.sub("", line).strip() for line in lines if line.strip())


def phonemize_once(text: str, voice: str) -> str:
    """IPA of `text` from a fresh espeak-ng process (the slower path; a reference for tests)."""
    _require_program()
    done = subprocess.run(
        [*command(voice), "--", clean_text(text)],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise ModelError(f"espeak-ng exited {done.returncode}: {done.stderr.strip()}")
    return clean_ipa(done.stdout.splitlines())


class EspeakProcess:
    """One long-lived `espeak-ng` process; `phonemize` is blocking and thread-safe.

    Call it from a worker thread. A process that dies or hangs is killed and restarted once per
    call; `close()` ends it (it also ends when its stdin closes, i.e. with our process).
    """

    def __init__(self, voice: str) -> None:
        _require_program()
        self.voice = voice
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self._sentinel_ipa = ""
        self._start()
        # Cached for the process's life: end it (and close its pipes) when we exit, so no
        # "subprocess still running" warning is left for the interpreter's shutdown.
        atexit.register(self.close)

    def phonemize(self, text: str) -> str:
        """IPA of one clause or sentence (no separators between phonemes, words spaced)."""
        line = clean_text(text)
        if not line:
            return ""
        with self._lock:
            try:
                return self._ask(line)
            except (OSError, ModelError):
                self._stop()
                self._start()
                return self._ask(line)

    def close(self) -> None:
        """End the process (idempotent)."""
        with self._lock:
            self._stop()

    def _start(self) -> None:
        try:
            self._process = subprocess.Popen(
                command(self.voice),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as e:
            raise ModelError(f"espeak-ng could not start: {e}") from e
        self._pending = b""
        self._write(_SENTINEL)
        self._sentinel_ipa = self._read_line()
        if not self._sentinel_ipa:
            raise ModelError(f"espeak-ng gave no phonemes for a test word (voice {self.voice!r})")

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _ask(self, line: str) -> str:
        self._write(f"{line}\n{_SENTINEL}")
        lines = []
        while (answer := self._read_line()) != self._sentinel_ipa:
            lines.append(answer)
        return clean_ipa(lines)

    def _write(self, text: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(text.encode() + b"\n")
        self._process.stdin.flush()

    def _read_line(self) -> str:
        """The next output line; a ModelError if none comes within the timeout."""
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + _TIMEOUT
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                raise ModelError(f"espeak-ng gave no answer in {_TIMEOUT:.0f} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ModelError(f"espeak-ng exited (code {self._process.poll()})")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode("utf-8", errors="replace").strip()


def _require_program() -> None:
    if shutil.which(PROGRAM) is None:
        raise ModelError(
            f"the {PROGRAM} program is not on PATH; Piper needs it for phonemes "
            "(scripts/bootstrap installs the Debian espeak-ng package)"
        )
