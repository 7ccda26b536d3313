"""The offline demo brain: a tiny rule-based "model" for `clanker sandbox` with no LLM configured.

It is served by llmsim on loopback as an OpenAI-compatible Chat Completions endpoint, so the
whole real path still runs (the OpenAI SDK, HTTP, retries, cost accounting, the action log):
only the far end is a script. It reads the prompt clanker built and answers in clanker's JSON
output contract: a reply (clearly labelled as the demo brain's) when spoken to or in an active
conversation, a 🤔 reaction to an ambient question, and a skip otherwise. Asked to "search
(the web) for X" when ``web_search`` is offered, it calls the tool, then answers with what the
tool returned (in the sandbox with no search key: the sandbox's search sim); in voice it says
"Let me check", searches, and speaks the first result's title. Asked for a GIF ("send a gif of
otters") or a picture ("draw a cat") when the system prompt offers media (its MEDIA section), it
answers with a ``media`` directive, so the sandbox's GIPHY and image sims answer offline. Asked
to "remember that X" when ``memory_write`` is offered, it writes X as a fact about the speaker;
a reply whose prompt has a "what you remember" section says what it remembers. Asked about an
initiative post (the AMBIENT TEXT MODE prompt), it shares the first link of its feed in the
first channel offered, and drops the thought when the feed has nothing. Asked to reflect (the
MEMORY REFLECTION prompt), it keeps what people said about themselves ("I …", "my …") as facts
about them and what they said about "this server" as the server's lore, each citing its line.
"""

from __future__ import annotations

import json
import re

from clanker.llmsim import RecordedRequest, SimToolCall, Text, ToolUse, Turn
from clanker.memory.reflection import HEADING as REFLECTION_HEADING
from clanker.voice.brain.prompt import JOIN_EVENT, VOICE_MARKER

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


def _remembered(prompt: str) -> str:
    facts = [line[2:] for line in _section(prompt, "WHAT YOU REMEMBER") if line.startswith("- ")]
    return (" I remember: " + "; ".join(facts[:3]) + ".") if facts else ""


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
                f"{LABEL} I heard you, {speaker}: “{echo}”.{_remembered(prompt)} Configure an "
                "LLM provider (e.g. ANTHROPIC_API_KEY) to talk to a real model."
            ),
            "skip": False,
            "reaction": None,
        }
    if said.endswith("?") and "No reactions right now" not in prompt:
        return {"text": "", "skip": True, "reaction": "🤔"}
    return {"text": "", "skip": True, "reaction": None}


_SEARCH = re.compile(r"\bsearch(?:\s+(?:the\s+)?(?:web|internet|online))?\s+for\s+(.+)", re.I)


def search_query(prompt: str) -> str | None:
    """What the latest new message asks to search for ("search the web for X"), if anything,
    when the prompt asks for a reply."""
    if not any(cue in prompt for cue in _REPLY_CUES):
        return None
    new = _section(prompt, "NEW MESSAGES")
    said = (new[-1] if new else "").partition(": ")[2]
    found = _SEARCH.search(said)
    if found is None:
        return None
    query = found.group(1).strip().rstrip("?.!").strip()
    return query[:200] or None


_REMEMBER = re.compile(r"\bremember\s+that\s+(.+)", re.I)


def remember_fact(prompt: str) -> str | None:
    """What the latest new message asks to be remembered ("remember that X"), if anything,
    when the prompt asks for a reply."""
    if not any(cue in prompt for cue in _REPLY_CUES):
        return None
    new = _section(prompt, "NEW MESSAGES")
    found = _REMEMBER.search((new[-1] if new else "").partition(": ")[2])
    if found is None:
        return None
    return found.group(1).strip().rstrip("!.").strip()[:400] or None


def tool_answer(results: list[str]) -> dict[str, object]:
    """The reply after the tools ran: what they returned, as clanker's JSON output object."""
    body = "\n".join(r.strip() for r in results if r.strip()) or "(nothing came back)"
    if len(body) > 1400:
        body = body[:1399] + "…"
    return {
        "text": f"{LABEL} I looked it up. The tool said:\n{body}",
        "skip": False,
        "reaction": None,
    }


_GIF = (
    re.compile(r"\bgifs?\s+(?:of|about|for|with)\s+(.+)", re.I),
    re.compile(r"\b(?:send|post|show|find)\s+(?:me\s+|us\s+)?(?:an?\s+)?(.+?)\s+gifs?\b", re.I),
)
_IMAGE = (
    re.compile(r"\b(?:draw|paint|sketch)\s+(?:me\s+|us\s+)?(?:a\s+picture\s+of\s+)?(.+)", re.I),
    re.compile(
        r"\b(?:make|generate|create)\s+(?:me\s+|us\s+)?an?\s+(?:image|picture|drawing)\s+of\s+(.+)",
        re.I,
    ),
)


def media_answer(prompt: str, system: str) -> dict[str, object] | None:
    """Asked for a GIF or a picture that the system prompt's MEDIA section offers: a reply
    with the ``media`` directive (None: not asked, or not offered)."""
    if not any(cue in prompt for cue in _REPLY_CUES):
        return None
    new = _section(prompt, "NEW MESSAGES")
    said = (new[-1] if new else "").partition(": ")[2]
    for kind, patterns, reply in (
        ("gif", _GIF, "Here is a GIF of {}."),
        ("image", _IMAGE, "I drew {} for you."),
    ):
        if f'{{"type": "{kind}"' not in system:
            continue
        found = next((m for p in patterns if (m := p.search(said)) is not None), None)
        if found is None:
            continue
        subject = found.group(1).strip().rstrip("?.!").strip()
        if not subject:
            continue
        return {
            "text": f"{LABEL} {reply.format(subject)}",
            "skip": False,
            "reaction": None,
            "media": {"type": kind, "prompt": subject[:200]},
        }
    return None


_FEED_LINE = re.compile(r"^- (?P<title>.+?) — (?P<url>https?://\S+) \(")
_CHANNEL_ID = re.compile(r"\(channel_id (\d+)\):")


def initiative_answer(prompt: str) -> dict[str, object]:
    """An initiative decision: the feed's first link in the first channel, or drop."""
    channel = _CHANNEL_ID.search(prompt)
    feed = [m for line in _section(prompt, "YOUR FEED") if (m := _FEED_LINE.match(line))]
    base: dict[str, object] = {
        "channel_id": channel.group(1) if channel else "0",
        "reply_to_message_id": None,
        "media": "none",
        "media_prompt": "",
    }
    if not feed or channel is None:
        return {**base, "action": "drop", "text": "", "reason": "nothing new in the feed"}
    first = feed[0]
    return {
        **base,
        "action": "post_now",
        "text": f"{LABEL} Found this in my feed: {first['title']} {first['url']}",
        "reason": "the first fresh link of the feed (the offline demo brain)",
    }


def _system_text(request: RecordedRequest) -> str:
    """The system prompt of a Chat Completions request (the demo brain is served as one)."""
    messages = request.body.get("messages", []) if isinstance(request.body, dict) else []
    return " ".join(
        str(m.get("content", ""))
        for m in messages
        if isinstance(m, dict) and m.get("role") in ("system", "developer")
    )


def voice_answer(prompt: str) -> str:
    """The demo brain's spoken answer to a voice prompt (plain sentences, no JSON)."""
    if JOIN_EVENT in prompt:
        return "Hello, this is the offline demo brain. Say something and I will answer."
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


def sound_answer(prompt: str, system: str) -> str | None:
    """Asked for a sound ("make a sound", "a rimshot sound please") and the system prompt lists
    some: play the one named (else the first) with the soundboard marker."""
    said = " ".join(line.partition(": ")[2] for line in _section(prompt, "Just said"))
    listed = re.search(r"Sounds: ([^.\n]+)\.", system)
    if listed is None or not re.search(r"\bsound", said, re.IGNORECASE):
        return None
    names = [n.strip() for n in listed.group(1).split(",") if n.strip()]
    name = next((n for n in names if n.casefold() in said.casefold()), names[0])
    return f"Here is the {name} sound. [[SOUNDBOARD:{name}]]"


def voice_search_query(prompt: str) -> str | None:
    """What the latest voice utterance asks to search for ("search the web for X"), if any."""
    lines = [line for line in _section(prompt, "Just said") if ": " in line]
    found = _SEARCH.search(lines[-1].partition(": ")[2]) if lines else None
    if found is None:
        return None
    return found.group(1).strip().rstrip("?.!").strip()[:200] or None


def voice_tool_answer(results: list[str]) -> str:
    """The spoken answer after a voice search: the first result's title."""
    for line in "\n".join(results).splitlines():
        if line.startswith("1. "):
            return f"This is the offline demo brain. The first result is: {line[3:].strip()}."
    return "This is the offline demo brain. The search found nothing."


_JOURNAL_LINE = re.compile(
    r"^- \S+ \| (?P<name>.+?) \((?P<id>\d+)\) \| \[(?P<tags>[^\]]*)\] (?P<text>.+)$"
)
_ABOUT_ME = re.compile(r"^(?:i|i'm|i am|i've|my)\b", re.I)
_ABOUT_US = re.compile(r"\b(?:in|on) this server\b", re.I)
_AT_MOST = re.compile(r"Write at most (\d+) new facts")


def reflection_answer(prompt: str) -> dict[str, object]:
    """A reflection's facts: what each person said about themselves, and about the server."""
    remembered = " ".join(_section(prompt, "ALREADY REMEMBERED")).casefold()
    cap = _AT_MOST.search(prompt)
    facts: list[dict[str, object]] = []
    for line in _section(prompt, "LINES"):
        found = _JOURNAL_LINE.match(line)
        if found is None or " bot" in f" {found['tags']}":
            continue
        text = found["text"].strip().rstrip(".!")
        if text.endswith("?"):
            continue  # a question says nothing to keep
        message = re.search(r"message:(\d+)", found["tags"])
        lore = _ABOUT_US.search(text) is not None
        if message is None or not (lore or _ABOUT_ME.match(text)) or len(text) > 300:
            continue
        fact = f"said: {text}"
        if fact.casefold() in remembered:
            continue
        facts.append(
            {
                "subject": "lore" if lore else "person",
                "person_id": None if lore else found["id"],
                "fact": fact,
                "type": "other",
                "confidence": 0.6,
                "evidence": [message.group(1)],
                "supersedes": None,
            }
        )
    return {"facts": facts[: int(cap.group(1)) if cap else 8]}


def respond(request: RecordedRequest) -> Turn:
    """llmsim responder: the demo brain's answer to one request."""
    if VOICE_MARKER in json.dumps(request.body, ensure_ascii=False):
        system = _system_text(request)
        sound = sound_answer(request.user_text, system)
        if sound is None and "web_search" in request.tool_names:
            if results := request.tool_results:
                return Text(voice_tool_answer(results), model=MODEL)
            if (query := voice_search_query(request.user_text)) is not None:
                call = SimToolCall("web_search", {"query": query})
                return ToolUse((call,), text="Let me check. ", model=MODEL)
        return Text(sound or voice_answer(request.user_text), model=MODEL)
    if request.user_text.startswith(REFLECTION_HEADING):
        return Text(
            json.dumps(reflection_answer(request.user_text), ensure_ascii=False), model=MODEL
        )
    if "AMBIENT TEXT MODE" in _system_text(request):
        return Text(
            json.dumps(initiative_answer(request.user_text), ensure_ascii=False), model=MODEL
        )
    tools = request.tool_names
    if ("web_search" in tools or "memory_write" in tools) and (results := request.tool_results):
        return Text(json.dumps(tool_answer(results), ensure_ascii=False), model=MODEL)
    if "memory_write" in tools and (fact := remember_fact(request.user_text)) is not None:
        call = SimToolCall("memory_write", {"fact": fact, "about": "speaker"})
        return ToolUse((call,), model=MODEL)
    if "web_search" in tools and (query := search_query(request.user_text)) is not None:
        return ToolUse((SimToolCall("web_search", {"query": query}),), model=MODEL)
    decided = media_answer(request.user_text, _system_text(request)) or answer(request.user_text)
    return Text(json.dumps(decided, ensure_ascii=False), model=MODEL)
