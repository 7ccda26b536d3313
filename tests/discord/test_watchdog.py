"""The gateway watchdog's decisions, fed events and times (no trio, no sockets)."""

from __future__ import annotations

import pytest

from clanker.discord.watchdog import GatewayWatchdog, WatchdogConfig


def relogin_times(dog: GatewayWatchdog, until: float, step: float = 0.5) -> list[float]:
    """Poll every `step` seconds up to `until`; the times at which it said to re-login."""
    times = []
    t = 0.0
    while t <= until:
        if dog.poll(t):
            times.append(t)
        t += step
    return times


def test_defaults_are_two_minutes_then_5_to_60_seconds() -> None:
    dog = GatewayWatchdog(WatchdogConfig(), now=0.0)
    assert relogin_times(dog, until=400.0) == [
        120.0,
        125.0,
        135.0,
        155.0,
        195.0,
        255.0,
        315.0,
        375.0,
    ]


def test_never_while_ready_however_quiet() -> None:
    dog = GatewayWatchdog(WatchdogConfig(), now=0.0)
    dog.became_ready(1.0)
    assert relogin_times(dog, until=1000.0) == []
    assert dog.next_check(10.0) == 130.0


def test_silence_counts_from_the_last_thing_heard() -> None:
    dog = GatewayWatchdog(WatchdogConfig(silence=10.0), now=0.0)
    dog.became_ready(0.0)
    dog.heard(4.0)
    dog.lost_connection(5.0)
    assert dog.next_check(5.0) == 14.0
    assert not dog.poll(13.9)
    assert dog.poll(14.0)
    # The next attempt waits the first backoff step.
    assert dog.next_check(14.0) == 19.0
    assert not dog.poll(18.9)
    assert dog.poll(19.0)
    assert dog.relogins == 2


def test_becoming_ready_resets_the_backoff() -> None:
    dog = GatewayWatchdog(WatchdogConfig(silence=10.0), now=0.0)
    assert relogin_times(dog, until=30.0) == [10.0, 15.0, 25.0]
    dog.became_ready(26.0)
    assert dog.relogins == 0
    dog.lost_connection(30.0)
    # Silent since READY at 26: the first re-login again comes after the silence period.
    assert relogin_times(dog, until=60.0) == [36.0, 41.0, 51.0]


def test_hearing_traffic_while_not_ready_postpones_the_first_relogin() -> None:
    dog = GatewayWatchdog(WatchdogConfig(silence=10.0), now=0.0)
    dog.heard(8.0)  # e.g. HELLO on a reconnect that has not reached READY yet
    assert not dog.poll(10.0)
    assert dog.poll(18.0)


def test_time_never_goes_backwards_for_heard() -> None:
    dog = GatewayWatchdog(WatchdogConfig(silence=10.0), now=5.0)
    dog.heard(3.0)
    assert dog.last_heard == 5.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"silence": 0.0}, "watchdog silence must be a positive number of seconds, got 0.0"),
        ({"backoff_initial": -1.0}, "backoff_initial must be a positive number"),
        ({"backoff_maximum": float("nan")}, "backoff_maximum must be a positive number"),
        ({"backoff_initial": 10.0, "backoff_maximum": 5.0}, "must be >= backoff_initial"),
        ({"backoff_factor": 0.5}, "backoff_factor must be >= 1, got 0.5"),
    ],
)
def test_bad_config_names_the_problem(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        WatchdogConfig(**kwargs)
