"""A grant still awaiting provisioning when its end date passes now expires (the expiry sweep
closes it), so an expired grant may never have been provisioned: `grant_active_was_provisioned`
no longer requires `provisioned_at` of expired grants.

No index changes: the sweep's due-id query (`status IN ('awaiting', 'active') AND end_date <
today ORDER BY end_date, id`) is exactly the predicate and order of `grant_current_end_idx`
(migrations 0005 and 0007), which it reads in order from its start up to today."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("access_requests", "0007_current_index_includes_tier_and_holder"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="accessgrant",
            name="grant_active_was_provisioned",
        ),
        migrations.AddConstraint(
            model_name="accessgrant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status__in", ["active", "surrendered"]), _negated=True),
                    ("provisioned_at__isnull", False),
                    _connector="OR",
                ),
                name="grant_active_was_provisioned",
            ),
        ),
    ]
