"""Ordered, append-only schema migrations. Never edit an applied one: add the next number.

`migrate(db)` applies what is missing in one transaction, under a lock so that two
processes starting together do not both apply it.
"""

from __future__ import annotations

from typing import Any, Callable

from peewee import BooleanField, Database
from playhouse.migrate import SchemaMigrator, migrate as apply

from store.db import is_postgres, transaction
from store.synonyms import Synonym
from store.models import (
    Article, Comment, Credential, Event, Feedback, InboundMessage, Order, Outbox, Purchase, SchemaVersion, Series,
    User,
)
from store.admin_models import ADMIN_TABLES
from store.push_models import BROADCAST_TABLES, PUSH_TABLES, ClockLease
from store.recommend_tables import SavedModel

Migration = tuple[int, str, Callable[[Database], None]]

MIGRATIONS: list[Migration] = [
    (1, "users, events, inbound messages, credentials, feedback",
     lambda db: db.create_tables([User, Event, InboundMessage, Credential, Feedback])),
    (2, "catalog: series, articles, comments",
     lambda db: db.create_tables([Series, Article, Comment])),
    (3, "outbox of customer-service messages",
     lambda db: db.create_tables([Outbox])),
    (4, "orders and purchases",
     lambda db: db.create_tables([Order, Purchase])),
    (5, "users.outbox_waiting: skip releasing an empty outbox on every message",
     lambda db: _add_column(db, User, "outbox_waiting", BooleanField(default=False))),
    (6, "fitted recommender models", lambda db: db.create_tables([SavedModel])),
    (10, "admins, #auth failures, audit trail, coupons and the coupons of orders",
     lambda db: db.create_tables(ADMIN_TABLES)),
    (20, "pushes: send ledger, preferences, push sends, push runs",
     lambda db: db.create_tables(PUSH_TABLES)),
    (21, "broadcasts: interest tags, tag members, mass sends",
     lambda db: db.create_tables(BROADCAST_TABLES)),
    (22, "the clock's leader lease",
     lambda db: db.create_tables([ClockLease])),
    (30, "synonyms for search", lambda db: db.create_tables([Synonym])),
]

def _add_column(database: Database, model: type, name: str, field: Any) -> None:
    """Add a column unless the table has it already (step 1 creates tables in their newest shape)."""
    table = model._meta.table_name
    if name not in {column.name for column in database.get_columns(table)}:
        apply(SchemaMigrator.from_database(database).add_column(table, name, field))


_LOCK_ID = 7_302_114  # any constant: the advisory lock that serialises migrations on PostgreSQL


def migrate(database: Database) -> list[int]:
    """Apply pending migrations; return the versions applied now."""
    applied_now = []
    with transaction(database):
        if is_postgres(database):
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        database.create_tables([SchemaVersion])
        done = {row.version for row in SchemaVersion.select()}
        for version, name, step in MIGRATIONS:
            if version in done:
                continue
            step(database)
            SchemaVersion.create(version=version, name=name)
            applied_now.append(version)
    return applied_now
