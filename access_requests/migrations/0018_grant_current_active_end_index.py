"""Current active-tier grants by end date (`grant_current_active_end_idx`): the register
filtered to the active tier reads its pages and its count from that tier's entries alone."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access_requests', '0017_grant_current_holder_index'),
        ('people', '0008_profile_unit_index_holds_user'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='accessgrant',
            index=models.Index(condition=models.Q(('status__in', ['awaiting', 'active']), ('tier', 'active')), fields=['end_date', 'id'], include=('holder',), name='grant_current_active_end_idx'),
        ),
    ]
