"""The link's network part runs after its start (issue 11 item 3): a bridge that takes 25 s to
send op 4 does not hold up the voice tree, and the link's status says where the join is.
Virtual time: no sockets, no clankvox (its name resolves to nothing yet, which the link
tolerates: the next ClankvoxStarted re-sends the join)."""

from __future__ import annotations

import trio
import trio.testing

from clanker.discord.events import Done, SendGatewayOp
from clanker.runtime import Actor, ChildSpec, SupervisorSpec, handles, open_runtime
from clanker.voice import GetVoiceLinkStatus, VoiceLinkStatus
from clanker.voice.link import VoiceLink, VoiceLinkConfig

OP4_DELAY = 25.0


class SlowBridge(Actor):
    """Sends gateway ops, slowly (a bridge logging in again)."""

    def __init__(self, sent: list[tuple[float, int]]) -> None:
        self.sent = sent

    @handles(SendGatewayOp)
    async def op(self, msg: SendGatewayOp) -> Done:
        await trio.sleep(OP4_DELAY)
        self.sent.append((trio.current_time(), msg.op))
        return Done()


async def test_a_slow_bridge_does_not_hold_up_the_link_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sent: list[tuple[float, int]] = []
    config = VoiceLinkConfig(guild_id=1, channel_id=2, user_id=3, clankvox="no-clankvox-yet")
    spec = SupervisorSpec(
        children=[
            ChildSpec("bridge", lambda: SlowBridge(sent), register="discord"),
            ChildSpec(
                "link", lambda: VoiceLink(config), register="link", mailbox=VoiceLink.mailbox
            ),
        ]
    )
    t0 = trio.current_time()
    async with open_runtime(spec) as rt:
        assert trio.current_time() == t0  # the tree started without waiting on op 4
        link = rt.lookup("link")
        status = await link.ask(GetVoiceLinkStatus(), VoiceLinkStatus)
        # Answered at once, while op 4 is still on its way: the mailbox is not held either.
        assert trio.current_time() == t0 and sent == []
        assert (status.phase, status.connects) == ("asked", 0)
        await trio.sleep(OP4_DELAY + 1)
        assert sent == [(t0 + OP4_DELAY, 4)]
