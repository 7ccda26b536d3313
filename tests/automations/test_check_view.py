"""The "Check now" answer read from the initiative actor's line, without trio."""

from __future__ import annotations

from clanker.automations.check_view import (
    CheckOutcome,
    InitiativeCheck,
    check_log,
    check_view,
    read_outcomes,
)
from clanker.automations.view import Names

NAMES = Names(guilds={100: "Otter Club"})


def test_each_server_outcome_is_read_in_the_actors_order() -> None:
    detail = "100: post; 200: skip min_gap; 300: hold; 400: drop"
    assert read_outcomes(detail) == [
        (100, "post"),
        (200, "skip min_gap"),
        (300, "hold"),
        (400, "drop"),
    ]
    assert check_view(detail, NAMES) == InitiativeCheck(
        detail=detail,
        outcomes=[
            CheckOutcome(guild_id="100", guild_name="Otter Club", outcome="post"),
            CheckOutcome(guild_id="200", guild_name=None, outcome="skip min_gap"),
            CheckOutcome(guild_id="300", guild_name=None, outcome="hold"),
            CheckOutcome(guild_id="400", guild_name=None, outcome="drop"),
        ],
    )


def test_a_line_naming_no_server_has_no_outcomes_and_is_kept() -> None:
    for detail in ("no server", "not logged in yet", "", "100:", ": post", "x: post"):
        assert check_view(detail, NAMES) == InitiativeCheck(detail=detail, outcomes=[])


def test_a_snowflake_keeps_every_digit() -> None:
    big = 1234567890123456789
    [outcome] = check_view(f"{big}: skip no_channel", Names()).outcomes
    assert outcome.guild_id == str(big)


def test_what_is_logged_for_an_answer_and_for_a_timeout() -> None:
    check = check_view("100: post; 200: skip eagerness", NAMES)
    assert check_log(check, 90.0) == (
        "checked initiative now: 100: post; 200: skip eagerness",
        {
            "detail": "100: post; 200: skip eagerness",
            "outcomes": [
                {"guild_id": "100", "outcome": "post"},
                {"guild_id": "200", "outcome": "skip eagerness"},
            ],
            "timed_out": False,
        },
    )
    assert check_log(None, 90.0) == (
        "checked initiative now: no answer within 90 s",
        {"detail": None, "outcomes": [], "timed_out": True},
    )
    assert check_log(None, 1.5)[0] == "checked initiative now: no answer within 1.5 s"
