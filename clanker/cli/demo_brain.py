"""The offline demo brain: a tiny rule-based "model" for `clanker sandbox` with no LLM configured.

It is served by llmsim on loopback as an OpenAI-compatible Chat Completions endpoint, so the
whole real path still runs (the OpenAI SDK, HTTP, retries, cost accounting, the action log):
only the far end is a script. It reads the prompt clanker built and answers in clanker's JSON
output contract: a reply (clearly labelled as the demo brain's) when spoken to or in an active
conversation, a 🤔 reaction to an ambient question, and a skip otherwise.
"""

from __future__ import annotations

import json

from clanker.llmsim import RecordedRequest, Text, Turn
from clanker.voice.brain.prompt import VOICE_MARKER

PROVIDER_NAME = "offline-demo"
MODEL = "offline-demo-brain"
LABEL = "[offline demo brain]"

_REPLY_CUES = (
    "Someone is talking to you directly",
    "You are part of this conversation",
    "This needs a message from you",
)


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(title):
            out: list[str] = []
            for body in lines[i + 1 :]:
                if not body.strip():
                    break
                out.append(body)
            return out
    return []


def answer(prompt: str) -> dict[str, object]:
    """The demo brain's decision for one prompt, as clanker's JSON output object."""
    new = _section(prompt, "NEW MESSAGES")
    latest = new[-1] if new else ""
    speaker, _, said = latest.partition(": ")
    said = said.strip()
    if any(cue in prompt for cue in _REPLY_CUES):
        if not said:
            return {"text": f"{LABEL} hello!", "skip": False, "reaction": None}
        echo = said if len(said) <= 120 else said[:119] + "…"
        return {
            "text": (
                f"{LABEL} I heard you, {speaker}: “{echo}”. Configure an LLM provider "
                "(e.g. ANTHROPIC_API_KEY) to talk to a real model."
            ),
            "skip": False,
            "reaction": None,
        }
    if said.endswith("?") and "No reactions right now" not in prompt:
        return {"text": "", "skip": True, "reaction": "🤔"}
    return {"text": "", "skip": True, "reaction": None}


def voice_answer(prompt: str) -> str:
    """The demo brain's spoken answer to a voice prompt (plain sentences, no JSON)."""
    said = _section(prompt, "Just said")
    lines = [line for line in said if ": " in line]
    if not lines:
        return "[SKIP]"
    speaker, _, text = lines[-1].partition(": ")
    addressed = "They are talking to you directly." in prompt
    if not addressed and len(lines) > 1:
        return "[SKIP]"  # members talking among themselves
    text = text.strip()
    echo = text if len(text) <= 120 else text[:119].rsplit(" ", 1)[0]
    return (
        f"This is the offline demo brain. {speaker}, I heard you say: {echo}. "
        "Configure a language model to talk with a real one."
    )


def respond(request: RecordedRequest) -> Turn:
    """llmsim responder: the demo brain's answer to one request."""
    if VOICE_MARKER in json.dumps(request.body, ensure_ascii=False):
        return Text(voice_answer(request.user_text), model=MODEL)
    return Text(json.dumps(answer(request.user_text), ensure_ascii=False), model=MODEL)
