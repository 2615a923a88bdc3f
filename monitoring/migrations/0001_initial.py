from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="TaskRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("task", models.CharField(max_length=200, unique=True)),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField()),
                ("duration_seconds", models.FloatField()),
                ("items", models.IntegerField(blank=True, null=True)),
                ("succeeded", models.BooleanField()),
                ("runs", models.PositiveIntegerField(default=0)),
            ],
            options={"ordering": ["task"]},
        ),
    ]
