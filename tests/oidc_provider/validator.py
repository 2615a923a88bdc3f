from oauth2_provider.oauth2_validators import OAuth2Validator

# People in this group have an email address the provider has not verified.
UNVERIFIED_GROUP = "email-unverified"


class ClaimsValidator(OAuth2Validator):
    """The email claims (for the `email` scope), as a directory would give them: none for a
    person without an address, `email_verified` false for one not verified."""

    def get_additional_claims(self, request):
        user = request.user
        if not user.email:
            return {}
        return {
            "email": user.email,
            "email_verified": not user.groups.filter(name=UNVERIFIED_GROUP).exists(),
        }
