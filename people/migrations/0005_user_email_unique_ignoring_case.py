import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_duplicates(apps, schema_editor):
    """Say which addresses differ only in case, rather than fail on the index's error."""
    User = apps.get_model("people", "User")
    duplicates = list(
        User.objects.annotate(lowered=Lower("email"))
        .values("lowered")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("lowered", flat=True)[:20]
    )
    if duplicates:
        raise RuntimeError(
            "Email addresses must be unique ignoring case, but these belong to more than one "
            f"person: {', '.join(duplicates)}. Merge or rename those people in the admin, then "
            "migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0004_request_tally")]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                name="user_email_unique_ignoring_case",
            ),
        ),
    ]
