"""Text traffic between the real client and the sandbox: both directions, edits, reactions."""

from __future__ import annotations

import io

import discord
import trio

ROUTE_SEND = "POST /channels/{channel_id}/messages"


def _names(sandbox):
    world = sandbox.world
    return world.user_named("alice"), world.channel_named("general"), world.channel_named("random")


async def test_member_message_reaches_on_message(connect, sandbox):
    alice, general, _ = _names(sandbox)
    async with connect() as client:
        posted = sandbox.post_message(alice, general, "hello clanker")
        await client.wait_until(lambda: len(client.messages()) == 1)
        [got] = client.messages()
        assert got.id == posted.id
        assert got.content == "hello clanker"
        assert got.author.id == alice.id and got.author.name == "alice"
        assert isinstance(got.author, discord.Member)
        assert isinstance(got.channel, discord.TextChannel) and got.channel.id == general.id
        assert got.guild is not None and got.guild.name == "Sandbox"


async def test_bot_send_plain_reply_and_file_land_in_sandbox(connect, sandbox, call_aio):
    alice, general, _ = _names(sandbox)
    async with connect() as client:
        channel = client.get_channel(general.id)
        sent = await call_aio(channel.send, "plain words")
        stored = await sandbox.next_bot_message()
        assert (stored.id, stored.content, stored.channel_id) == (
            sent.id,
            "plain words",
            general.id,
        )

        question = sandbox.post_message(alice, general, "what is 2+2?")
        await client.wait_until(lambda: any(m.id == question.id for m in client.messages()))
        incoming = next(m for m in client.messages() if m.id == question.id)
        quiet = discord.AllowedMentions(everyone=False, users=False, roles=False)
        reply = await call_aio(incoming.reply, "4", allowed_mentions=quiet, mention_author=False)
        stored_reply = await sandbox.next_bot_message()
        assert stored_reply.id == reply.id
        assert stored_reply.reference_id == question.id
        assert stored_reply.allowed_mentions == {"parse": [], "replied_user": False}
        assert stored_reply.mention_ids == []
        assert reply.reference is not None and reply.reference.message_id == question.id
        assert reply.type is discord.MessageType.reply

        pinging = await call_aio(incoming.reply, "four")
        assert (await sandbox.next_bot_message()).mention_ids == [alice.id]
        assert [u.id for u in pinging.mentions] == [alice.id]

        upload = discord.File(io.BytesIO(b"line one\n"), filename="notes.txt")
        with_file = await call_aio(channel.send, "see attached", file=upload)
        stored_file = await sandbox.next_bot_message()
        assert stored_file.content == "see attached"
        [attachment] = stored_file.attachments
        assert (attachment.filename, attachment.data) == ("notes.txt", b"line one\n")
        assert attachment.content_type == "text/plain"
        assert [a.filename for a in with_file.attachments] == ["notes.txt"]
        multipart = [c for c in sandbox.rest_calls if c.route == ROUTE_SEND and c.files]
        assert [f.field for f in multipart[0].files] == ["files[0]"]

        # Discord echoes the bot's own messages on the gateway too.
        await client.wait_until(
            lambda: (
                {sent.id, reply.id, pinging.id, with_file.id} <= {m.id for m in client.messages()}
            )
        )
    assert [m.content for m in sandbox.bot_messages()] == [
        "plain words",
        "4",
        "four",
        "see attached",
    ]


async def test_edit_delete_react_typing(connect, sandbox, call_aio):
    _, general, _ = _names(sandbox)
    async with connect() as client:
        channel = client.get_channel(general.id)
        sent = await call_aio(channel.send, "first draft")
        await client.wait_until(lambda: any(m.id == sent.id for m in client.messages()))

        edited = await call_aio(sent.edit, content="second draft")
        assert edited.content == "second draft" and edited.edited_at is not None
        assert sandbox.world.message(sent.id).content == "second draft"
        await client.wait_until(lambda: bool(client.of("message_edit")))
        [(before, after)] = client.of("message_edit")
        assert (before.content, after.content) == ("first draft", "second draft")

        await call_aio(sent.add_reaction, "👍")
        [reaction] = sandbox.world.message(sent.id).reactions
        assert reaction.emoji.name == "👍" and reaction.user_ids == [sandbox.world.bot.id]
        await client.wait_until(lambda: bool(client.of("raw_reaction_add")))
        [(payload,)] = client.of("raw_reaction_add")
        assert payload.user_id == client.user.id and str(payload.emoji) == "👍"

        await call_aio(sent.remove_reaction, "👍", client.user)
        assert sandbox.world.message(sent.id).reactions == []
        await client.wait_until(lambda: bool(client.of("raw_reaction_remove")))

        async def type_once():
            await channel.typing()

        await call_aio(type_once)
        typing = [c for c in sandbox.rest_calls if c.route == "POST /channels/{channel_id}/typing"]
        assert [(c.path, c.status) for c in typing] == [
            (f"/api/v9/channels/{general.id}/typing", 204)
        ]

        await call_aio(sent.delete)
        assert sandbox.world.messages[sent.id].deleted
        await client.wait_until(lambda: bool(client.of("raw_message_delete")))
        [(deleted,)] = client.of("raw_message_delete")
        assert deleted.message_id == sent.id


async def test_history_paging(connect, sandbox, call_aio):
    alice, _, random_channel = _names(sandbox)
    posted = [sandbox.post_message(alice, random_channel, f"m{i}") for i in range(6)]
    async with connect() as client:
        channel = client.get_channel(random_channel.id)

        async def collect(**kwargs):
            return [m async for m in channel.history(**kwargs)]

        newest = await call_aio(collect, limit=3)
        assert [m.content for m in newest] == ["m5", "m4", "m3"]
        after = await call_aio(
            collect, limit=10, after=discord.Object(posted[1].id), oldest_first=True
        )
        assert [m.content for m in after] == ["m2", "m3", "m4", "m5"]
        before = await call_aio(collect, limit=10, before=discord.Object(posted[2].id))
        assert [m.content for m in before] == ["m1", "m0"]
        assert all(m.author.id == alice.id for m in newest + after + before)


async def test_member_edits_reactions_and_joins_reach_client(connect, sandbox):
    alice, general, _ = _names(sandbox)
    bob = sandbox.world.user_named("bob")
    async with connect() as client:
        message = sandbox.post_message(alice, general, "tpyo")
        await client.wait_until(lambda: len(client.messages()) == 1)
        sandbox.edit_message(message, "typo")
        await client.wait_until(lambda: bool(client.of("message_edit")))
        assert client.of("message_edit")[0][1].content == "typo"

        assert sandbox.react(bob, message, "🎉") is True
        assert sandbox.react(bob, message, "🎉") is False  # already there: no second dispatch
        await client.wait_until(lambda: bool(client.of("raw_reaction_add")))
        [(payload,)] = client.of("raw_reaction_add")
        assert payload.user_id == bob.id and payload.member is not None

        sandbox.start_typing(bob, general)
        await client.wait_until(lambda: bool(client.of("typing")))
        assert client.of("typing")[0][1].id == bob.id

        guild = sandbox.world.guild_named("Sandbox")
        carol = sandbox.add_member(guild, "carol")
        await client.wait_until(lambda: bool(client.of("member_join")))
        [(joined,)] = client.of("member_join")
        assert (joined.id, joined.name) == (carol.user_id, "carol")

        sandbox.delete_message(message)
        await client.wait_until(lambda: bool(client.of("raw_message_delete")))
        # Dispatches arrive in order, so by now a second reaction add would have arrived too.
        assert len(client.of("raw_reaction_add")) == 1


async def test_dispatches_and_rest_calls_are_stamped_with_trio_time(connect, sandbox, call_aio):
    alice, general, _ = _names(sandbox)
    async with connect() as client:
        before_post = trio.current_time()
        posted = sandbox.post_message(alice, general, "stamp me")
        await client.wait_until(lambda: any(m.id == posted.id for m in client.messages()))
        seen_at = trio.current_time()
        [sent] = [
            d
            for d in sandbox.sent_dispatches
            if d.event == "MESSAGE_CREATE" and d.data["id"] == str(posted.id)
        ]
        assert before_post <= sent.at <= seen_at
        assert sent.seq > 0
        assert [
            d.seq for d in sandbox.sent_dispatches if d.connection_id == sent.connection_id
        ] == sorted(d.seq for d in sandbox.sent_dispatches if d.connection_id == sent.connection_id)
        assert {d.event for d in sandbox.sent_dispatches} >= {"READY", "MESSAGE_CREATE"}

        channel = client.get_channel(general.id)
        before_send = trio.current_time()
        await call_aio(channel.send, "stamped reply")
        after_send = trio.current_time()
        [call] = [c for c in sandbox.rest_calls if c.route == ROUTE_SEND]
        assert before_send <= call.at <= after_send
        assert all(c.at > 0 for c in sandbox.rest_calls)


async def test_dms_as_the_library_sees_them(connect, sandbox, call_aio):
    # A DM opened before the login is in READY's private_channels (recipient_ids + users);
    # one opened later arrives as CHANNEL_CREATE; a message in either has no guild; the bot's
    # own create_dm finds the existing channel.
    world = sandbox.world
    alice, bob = world.user_named("alice"), world.user_named("bob")
    early = sandbox.open_dm(alice)
    async with connect() as client:
        known = client.get_channel(early.id)
        assert isinstance(known, discord.DMChannel) and known.recipient.id == alice.id
        late = sandbox.open_dm(bob)  # CHANNEL_CREATE, then the message's MESSAGE_CREATE
        posted = sandbox.post_message(bob, late, "psst")
        await client.wait_until(lambda: any(m.id == posted.id for m in client.messages()))
        assert isinstance(client.get_channel(late.id), discord.DMChannel)
        got = next(m for m in client.messages() if m.id == posted.id)
        assert got.guild is None and isinstance(got.channel, discord.DMChannel)
        assert isinstance(got.author, discord.User) and got.author.id == bob.id
        again = await call_aio(client.create_dm, discord.Object(id=bob.id))
        assert again.id == late.id
        sent = await call_aio(got.channel.send, "hi bob")
        assert (await sandbox.next_bot_message()).channel_id == late.id == sent.channel.id
