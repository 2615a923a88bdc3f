"""Live links leave the outbox's stored text: a pending email's links move into the sealed
`secret` column, and the bodies of emails sent or given up keep their tokens masked (the
context of a given-up email goes too)."""

from django.db import migrations, models

from notifications.secrets import secrets_seal, token_paths_mask

LIVE_VALUES = ("link",)


def seal_and_mask(apps, schema_editor):
    OutboundEmail = apps.get_model("notifications", "OutboundEmail")
    pending = OutboundEmail.objects.filter(status="pending", context__has_any_keys=LIVE_VALUES)
    for email in pending.iterator():
        live = {name: email.context.pop(name) for name in LIVE_VALUES if name in email.context}
        email.secret = secrets_seal(live)
        email.save(update_fields=["context", "secret"])
    for email in OutboundEmail.objects.exclude(status="pending").iterator():
        masked = {
            name: token_paths_mask(getattr(email, name))
            for name in ("subject", "body_text", "body_html")
        }
        email.subject, email.body_text, email.body_html = masked.values()
        email.context = None
        email.save(update_fields=["subject", "body_text", "body_html", "context"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_no_pattern_index_on_dedupe_key")]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="secret",
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(seal_and_mask, migrations.RunPython.noop, elidable=True),
    ]
