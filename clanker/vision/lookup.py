"""The `image_lookup` tool: the model looks at an earlier image of the channel again.

The prompt lists earlier images as ``IMG n`` with their captions (`captions.history_section`);
the tool takes ``number`` (that n) or ``query`` (words of the caption, the file name or who
posted it) and answers with the image itself (downloaded again and re-encoded, Discord links
having expired meanwhile) after a line naming it. The refs are the turn's: the tool is built per
reply (`image_lookup_tool`) with the same list the prompt shows, so the numbers match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from clanker.llm.model import ImagePart, ToolSpec
from clanker.runtime import ActorRef
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput
from clanker.tools.fetch import GuardedFetcher
from clanker.vision.encode import ImageLimits
from clanker.vision.load import data_url, load_image
from clanker.vision.refs import ImageRef

IMAGE_LOOKUP_SPEC = ToolSpec(
    name="image_lookup",
    description=(
        "Look again at an earlier image of this conversation (the EARLIER IMAGES list). Give "
        "`number` (n of IMG n) or `query` (words from its description, file name or poster)."
    ),
    parameters={
        "type": "object",
        "properties": {
            "number": {"type": "integer", "minimum": 1, "description": "n of IMG n"},
            "query": {"type": "string", "description": "words that describe the image"},
        },
    },
)
IMAGE_LOOKUPS_PER_HOUR = 30
_WORD = re.compile(r"\w+")


def choose(
    refs: Sequence[ImageRef], captions: Mapping[str, str], arguments: Mapping[str, Any]
) -> tuple[int, ImageRef] | str:
    """(n, the image) the arguments pick, or an error sentence for the model."""
    listed = f"IMG 1 to IMG {len(refs)}" if len(refs) > 1 else "IMG 1"
    if not refs:
        return "There are no earlier images in this conversation."
    number = arguments.get("number")
    if number is not None:
        if isinstance(number, bool) or not isinstance(number, int):
            return f"number must be an integer ({listed}), got {number!r}."
        if not 1 <= number <= len(refs):
            return f"There is no IMG {number}; the earlier images are {listed}."
        return number, refs[number - 1]
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return f"Give number ({listed}) or query (words describing the image)."
    wanted = {w.lower() for w in _WORD.findall(query)}
    best: tuple[int, int] | None = None  # (score, index); the latest wins a tie
    for index, ref in enumerate(refs):
        text = f"{captions.get(ref.key, '')} {ref.label} {ref.author_name}".lower()
        score = len(wanted & set(_WORD.findall(text)))
        if score and (best is None or score >= best[0]):
            best = (score, index)
    if best is None:
        return f"No earlier image matches {query.strip()!r}; the earlier images are {listed}."
    return best[1] + 1, refs[best[1]]


def image_lookup_tool(
    refs: Sequence[ImageRef],
    captions: Mapping[str, str],
    *,
    bridge: ActorRef,
    fetcher: GuardedFetcher | None,
    limits: ImageLimits,
) -> Tool:
    """The tool for one reply, over that reply's earlier images."""
    listed = tuple(refs)

    async def run(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        picked = choose(listed, captions, arguments)
        if isinstance(picked, str):
            return ToolOutput(picked, is_error=True)
        number, ref = picked
        loaded = await load_image(ref, bridge=bridge, fetcher=fetcher, limits=limits)
        name = f"IMG {number}: {ref.label} from {ref.author_name}"
        if loaded.image is None:
            return ToolOutput(f"{name} cannot be shown: {loaded.problem}.", is_error=True)
        return ToolOutput(f"{name} follows.", images=(ImagePart(data_url(loaded.image)),))

    return Tool(spec=IMAGE_LOOKUP_SPEC, run=run, per_hour=IMAGE_LOOKUPS_PER_HOUR)
