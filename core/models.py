"""The base every model of the portal stands on."""

from django.db import models
from django.db.models.base import ModelState


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def column_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields that are columns of the model's table, in the table's order, primary key
    included: what a hand-written INSERT or a snapshot of a row names. Read through the
    documented `_meta.get_fields()` and field flags, which `_meta.concrete_fields` is not."""
    return [f for f in model._meta.get_fields() if f.concrete and not f.many_to_many]


def primary_key_field(model: type[models.Model]) -> models.Field:
    """The model's primary key field (read as `column_fields` reads the fields)."""
    return next(field for field in column_fields(model) if field.primary_key)


def model_reference(model: type[models.Model], pk):
    """An instance holding only its primary key, for the outbox and the audit trail, which
    read nothing else of it (its type and id). `Model(pk=…)` works out the default of every
    other field (about 45 µs for a user), a cost a sweep or a bulk import of tens of
    thousands notices; so this sets the id and Django's instance state only (`ModelState`,
    private API: the one place in the project that builds an instance this way). Any other
    field read from it is loaded from the database, as a deferred field would be."""
    instance = model.__new__(model)
    instance._state = ModelState()
    instance._state.adding = False
    setattr(instance, model._meta.pk.attname, pk)
    return instance
