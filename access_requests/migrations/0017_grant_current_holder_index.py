"""Current grants by holder in page order (`grant_current_holder_idx`): "Access in your
directorate" finds a page's grants person by person among the directorate's people, so a
deep page reads the directorate's grants rather than the department's past the cursor."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access_requests', '0016_business_case_more_information'),
        ('people', '0008_profile_unit_index_holds_user'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='accessgrant',
            index=models.Index(condition=models.Q(('status__in', ['awaiting', 'active'])), fields=['holder', 'end_date', 'id'], include=('tier',), name='grant_current_holder_idx'),
        ),
    ]
