"""The terminal chat's line parsing and rendering (sans-IO)."""

from __future__ import annotations

import pytest

from clanker.cli import chat


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("", None),
        ("   \n", None),
        ("hello there\n", chat.Say("hello there")),
        ("/as bob", chat.SwitchUser("bob")),
        ("/as @bob", chat.SwitchUser("bob")),
        ("/AS bob", chat.SwitchUser("bob")),
        ("/as", chat.Invalid("/as needs a member's name")),
        ("/in #random", chat.SwitchChannel("random")),
        ("/in", chat.Invalid("/in needs a channel's name")),
        ("/who", chat.Who()),
        ("/help", chat.Help()),
        ("/quit", chat.Quit()),
        ("/exit", chat.Quit()),
        ("/dance", chat.Invalid("unknown command '/dance'; /help lists them")),
    ],
)
def test_parse_line(line: str, parsed: chat.ChatInput | None) -> None:
    assert chat.parse_line(line) == parsed


def test_mentions_expand_for_known_users_only() -> None:
    users = {"clanker": 1, "Bob": 2}
    assert chat.expand_mentions("hey @clanker and @bob, not @carol", users) == (
        "hey <@1> and <@2>, not @carol"
    )
    assert chat.expand_mentions("mail me at a@clanker.dev", users) == "mail me at a@clanker.dev"
    assert chat.show_mentions("hi <@1> and <@!2> and <@9>", {1: "clanker", 2: "bob"}) == (
        "hi @clanker and @bob and <@9>"
    )


def test_render_indents_continuation_lines() -> None:
    assert chat.render("general", "clanker", "one\ntwo", reply_to="@alice") == (
        "#general clanker (replying to @alice): one\n"
        + " " * len("#general clanker (replying to @alice)  ")
        + "two"
    )
