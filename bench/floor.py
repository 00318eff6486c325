"""The cost floor of one message: bare WeRoBot echo plus one durable insert of the message id, and with
Redis one pipelined round trip (the claim and the state read a fast path needs), on the same database
and Redis as ours. No pipeline that records each message exactly once can be cheaper than this.

    app, close = floor_app(token, database_url, redis_url, prefix)   # a WSGI callable, as robot.wsgi
"""

from __future__ import annotations

from typing import Any, Callable

TABLE = "bench_floor"


def floor_app(token: str, database_url: str, redis_url: str, prefix: str) -> tuple[Callable, Callable[[], None]]:
    """The echo robot whose handlers first insert the message id (committed) and, with a `redis_url`,
    send one pipeline: SET NX on the message's seen key and GET of the sender's state (keys under
    `prefix`, so that the bench's clean-up finds them)."""
    import werobot

    from handlers.pipeline import message_key
    from store.db import open_database
    from store.state import redis_client

    database = open_database(database_url)  # the app's own settings: pool, WAL, synchronous=normal
    with database.connection_context():
        database.execute_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} (key VARCHAR(64) PRIMARY KEY)")
    insert = f"INSERT INTO {TABLE} (key) VALUES ({database.param})"
    client = redis_client(redis_url) if redis_url else None
    robot = werobot.WeRoBot(token=token, SESSION_STORAGE=False)

    def durable(message: Any) -> None:
        key = message_key(message)
        with database.connection_context(), database.atomic():
            database.execute_sql(insert, (key,))
        if client is not None:
            pipe = client.pipeline(transaction=False)
            pipe.set(f"{prefix}:seen:{key}", "1", nx=True, ex=600)
            pipe.get(f"{prefix}:{message.source}:state")
            pipe.execute()

    @robot.text
    def echo(message: Any) -> str:
        durable(message)
        return message.content

    @robot.click
    def echo_click(message: Any) -> str:
        durable(message)
        return message.key

    def close() -> None:
        database.close_all()

    return robot.wsgi, close
