from django.db import migrations, models

DECIDING_ROLES = ("director", "admin", "deputy")


def scope_existing_delegations(apps, schema_editor):
    """A delegation decides cases if its giver decides cases now (leads a directorate or is
    an organisation's fallback approver), unless the giver also holds a budget and the
    deputy could not have been named by someone who decides cases (not a director, an
    admin, a deputy director, nor someone who decides cases): that is a budget holder's
    deputy, agreeing to costs only. A director's plain deputy named before the deputy rules
    keeps deciding until the delegation ends (at most SNS_MAX_DELEGATION_DAYS)."""
    Delegation = apps.get_model("approvals", "Delegation")
    giver_decides = models.Q(director__directorates_led__isnull=False) | models.Q(
        director__fallback_for_organisations__isnull=False
    )
    deputy_may_decide = (
        models.Q(deputy__groups__name__in=DECIDING_ROLES)
        | models.Q(deputy__directorates_led__isnull=False)
        | models.Q(deputy__fallback_for_organisations__isnull=False)
    )
    giver_holds_budget = models.Q(director__business_units_budget_held__isnull=False)
    budget_holders_deputy = Delegation.objects.filter(giver_holds_budget).exclude(
        pk__in=Delegation.objects.filter(deputy_may_decide).values("pk")
    )
    deciding = (
        Delegation.objects.filter(giver_decides)
        .exclude(pk__in=budget_holders_deputy.values("pk"))
        .values("pk")
        .distinct()
    )
    Delegation.objects.filter(pk__in=deciding).update(scope="cases")


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0007_approval_sent_back"),
        ("people", "0008_profile_unit_index_holds_user"),
    ]

    operations = [
        migrations.AddField(
            model_name="delegation",
            name="scope",
            field=models.CharField(
                choices=[
                    ("cases", "Decides cases and agrees to costs"),
                    ("costs", "Agrees to costs only"),
                ],
                default="costs",
                max_length=5,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(scope_existing_delegations, migrations.RunPython.noop),
    ]
