"""image_lookup's choice of image and the tool loop carrying a tool's images (sans-IO)."""

from __future__ import annotations

from clanker.llm.model import ImagePart, LlmResponse, ToolCall, ToolResultPart, Usage, user
from clanker.text.tool_loop import ToolBudget, ToolLoop
from clanker.vision.lookup import choose
from tests.vision.test_captions_units import ref

REFS = [ref(1), ref(2), ref(3)]
CAPTIONS = {REFS[0].key: "a cat on a mat", REFS[1].key: "a dog", REFS[2].key: "another cat"}


def test_choose_by_number_or_words_with_clear_errors() -> None:
    assert choose(REFS, CAPTIONS, {"number": 2}) == (2, REFS[1])
    assert choose(REFS, CAPTIONS, {"query": "the cat"}) == (3, REFS[2])  # a tie: the latest
    assert choose(REFS, CAPTIONS, {"query": "cat mat"}) == (1, REFS[0])
    assert choose(REFS, CAPTIONS, {"query": "2.png"}) == (2, REFS[1])  # the file name
    assert choose(REFS, CAPTIONS, {"number": 4}) == (
        "There is no IMG 4; the earlier images are IMG 1 to IMG 3."
    )
    assert choose(REFS, CAPTIONS, {"number": True}).startswith("number must be an integer")
    assert choose(REFS, CAPTIONS, {"query": "horse"}) == (
        "No earlier image matches 'horse'; the earlier images are IMG 1 to IMG 3."
    )
    assert choose(REFS, CAPTIONS, {}) == (
        "Give number (IMG 1 to IMG 3) or query (words describing the image)."
    )
    assert choose([], {}, {"number": 1}) == "There are no earlier images in this conversation."


def test_a_tools_images_follow_its_result_in_the_next_request() -> None:
    loop = ToolLoop([user("hi")], budget=ToolBudget(), hourly_left={"image_lookup": None})
    call = ToolCall(id="c1", name="image_lookup", arguments={"number": 1}, raw_arguments="{}")
    response = LlmResponse(
        text="",
        tool_calls=(call,),
        stop_reason="tool_use",
        raw_stop_reason="tool_use",
        usage=Usage(),
        usd_cost=0.0,
        provider="p",
        model="m",
        latency=0.0,
        attempts=1,
    )
    loop.on_response(response)
    image = ImagePart("data:image/png;base64,AA==")
    loop.on_results([ToolResultPart("c1", "IMG 1 follows.")], [image])
    last = loop.messages()[-1]
    assert last.role == "user" and last.parts == (ToolResultPart("c1", "IMG 1 follows."), image)
