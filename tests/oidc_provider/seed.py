"""Fills the test provider's database: `python -m tests.oidc_provider.seed <world.json>`.

The world is {"client": {"id", "secret", "redirect_uri", "post_logout_redirect_uri"},
"people": [{"username", "password", "email", "verified"}]}.
"""

import json
import sys

import django


def main(path: str) -> None:
    django.setup()
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import Application

    from .validator import UNVERIFIED_GROUP

    world = json.loads(open(path).read())  # noqa: SIM115, PTH123
    unverified, _ = Group.objects.get_or_create(name=UNVERIFIED_GROUP)
    for person in world["people"]:
        user = User.objects.create_user(
            person["username"], email=person["email"], password=person["password"]
        )
        if not person["verified"]:
            user.groups.add(unverified)
    client = world["client"]
    Application.objects.create(
        name="SNS access portal",
        client_id=client["id"],
        client_secret=client["secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=client["redirect_uri"],
        post_logout_redirect_uris=client["post_logout_redirect_uri"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
