"""Persistence: peewee models and named queries (database), dialog state, dedupe and locks (Redis or memory)."""
