"""The recommender's table: fitted models, saved in the database so every process (web workers on other
machines, the clock) loads the same one. The newest row is the model in use."""

from __future__ import annotations

from peewee import AutoField, BlobField, CharField, DateTimeField

from store.models import BaseModel, utcnow


class SavedModel(BaseModel):
    id = AutoField()
    catalog_version = CharField(max_length=200)  # store.catalog.catalog_version() when it was fitted
    blob = BlobField()  # recommender.model.FittedModel.to_bytes()
    summary = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow)
