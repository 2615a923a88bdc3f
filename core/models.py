"""The base every model of the portal stands on."""

from django.db import models


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
