"""The search text's holder index holds the text too (`person_search_text_holder_idx`): a
register search for a name too common to pass its people as ids walks the current grants in
the page's order and checks each holder's text (about 2,700 checks for a page of "Patel" at
ten times the department), each from the index alone rather than the index and the row."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0008_profile_unit_index_holds_user'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='personsearchtext',
            index=models.Index(fields=['user'], include=('text',), name='person_search_text_holder_idx'),
        ),
    ]
