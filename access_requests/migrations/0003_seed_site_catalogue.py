from django.db import migrations

SITES = [
    ("Facebook", "https://www.facebook.com/", True),
    ("Instagram", "https://www.instagram.com/", False),
    ("LinkedIn", "https://www.linkedin.com/", True),
    ("Reddit", "https://www.reddit.com/", False),
    ("TikTok", "https://www.tiktok.com/", False),
    ("X (formerly Twitter)", "https://x.com/", False),
    ("YouTube", "https://www.youtube.com/", True),
]


def seed_sites(apps, schema_editor):
    Site = apps.get_model("access_requests", "Site")
    for name, url, shared_names in SITES:
        Site.objects.get_or_create(
            name=name, defaults={"url": url, "allows_shared_display_names": shared_names}
        )


class Migration(migrations.Migration):
    dependencies = [("access_requests", "0002_initial")]

    operations = [migrations.RunPython(seed_sites, migrations.RunPython.noop)]
