"""Websocket subscriptions through the client's own StreamSeaConnection."""
import asyncio

import pytest
from stream_sea_client import CredentialsError, StreamSeaConnection

from wire import publish_like_client

TIMEOUT = 10  # seconds for any one step


def run(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, TIMEOUT * 3))
    finally:
        loop.close()


async def publish(server, stream, payload):
    """Publishes over REST off the event loop, so that the websocket keeps reading."""
    loop = asyncio.get_event_loop()
    status, body = await loop.run_in_executor(None, publish_like_client, server, stream, payload)
    assert status == 200, body


async def next_item(iterator):
    return await asyncio.wait_for(iterator.__anext__(), TIMEOUT)


def test_subscription_receives_rest_publications_in_order(server, stream):
    singles = [{"n": i, "text": "single %d" % i} for i in range(5)]
    batch = [{"n": 100 + i} for i in range(3)]

    async def scenario():
        loop = asyncio.get_event_loop()
        async with StreamSeaConnection(**server, loop=loop) as connection:
            iterator = await connection.subscribe(stream)
            for payload in singles:
                await publish(server, stream, payload)
            await publish(server, stream, batch)
            await publish(server, stream, {"n": 200})
            return [await next_item(iterator) for _ in range(len(singles) + 2)]

    received = run(scenario())
    assert received[:5] == singles
    # A batch published as one JSON array arrives as one delivery whose payload
    # is that array: the client yields the list as a single item, unsplit.
    assert received[5] == batch
    assert received[6] == {"n": 200}


def test_two_subscriptions_on_one_connection(server, stream):
    other = stream + "b"

    async def scenario():
        loop = asyncio.get_event_loop()
        async with StreamSeaConnection(**server, loop=loop) as connection:
            first = await connection.subscribe(stream)
            second = await connection.subscribe(other)
            await publish(server, other, {"to": "second"})
            await publish(server, stream, {"to": "first"})
            return await next_item(first), await next_item(second)

    assert run(scenario()) == ({"to": "first"}, {"to": "second"})


def test_wrong_secret_fails_authentication(server):
    async def scenario():
        loop = asyncio.get_event_loop()
        connection = StreamSeaConnection(**dict(server, client_secret="not-the-secret"), loop=loop)
        try:
            await connection
        finally:
            if connection.ensure_ws.done():
                await connection.ensure_ws.result().close()

    with pytest.raises(CredentialsError):
        run(scenario())
