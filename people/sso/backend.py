"""The authentication backend for single sign-on: mozilla-django-oidc's, with the portal's
checks.

The library exchanges the code (with the PKCE verifier), fetches the provider's keys and
checks the ID token's signature and nonce, and asks the userinfo endpoint for the claims.
It leaves out checks the portal needs, added here by overriding its documented methods:

- the ID token's issuer (`iss` = OIDC_ISSUER), audience (`aud` holds the client id, and
  `azp` is the client where there are several audiences) and expiry (`exp` and `iat` are
  required; the library checks `exp` only when the token carries one);
- the userinfo's `sub` is the ID token's (OpenID Connect Core 1.0, 5.3.2);
- the email is present and verified, and matches exactly one active person in the staff
  directory, in any letter case. Nobody is ever created here (OIDC_CREATE_USER is off).

Every refusal raises `SignInRefused` with a reason from `REASONS`; the callback view shows
the page and records the attempt. It takes no part in passwords or in permissions: those
are `people.backends.PortalBackend`'s.
"""

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.utils.crypto import constant_time_compare
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .discovery import ProviderUnavailable, provider_configuration

# Why a sign-in was refused: the code the audit trail records.
REASONS = {
    "bad_state": "the answer's state is not one this browser asked for",
    "provider_error": "the provider answered with an error",
    "provider_unavailable": "the provider or its discovery document could not be reached",
    "token_refused": "the provider refused to exchange the code for tokens",
    "bad_token": "the ID token could not be read",
    "bad_signature": "the ID token's signature does not match the provider's keys",
    "wrong_issuer": "the ID token was issued by someone else",
    "wrong_audience": "the ID token is for another client",
    "token_expired": "the ID token has expired",
    "claims_missing": "the ID token lacks a claim it must carry",
    "bad_nonce": "the ID token's nonce is not the one this sign-in sent",
    "userinfo_mismatch": "the userinfo is about someone other than the ID token",
    "email_missing": "the provider gave no email address",
    "email_unverified": "the provider has not verified the email address",
    "unknown_person": "nobody in the staff directory has the email address",
    "switched_off": "the person's account is switched off",
}
# Reasons that are about the person (the page says "You cannot sign in with this account").
PERSON_REASONS = {"email_missing", "email_unverified", "unknown_person", "switched_off"}


class SignInRefused(Exception):
    def __init__(self, reason: str, *, email: str = "", person=None):
        if reason not in REASONS:
            raise ValueError(f"Unknown refusal reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        self.email = email
        self.person = person


class SingleSignOnBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Django makes a backend for every request of a person it signed in, so nothing here
        # may reach the provider: the endpoints are read when first used (the properties).
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None  # always the provider's published keys
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 - the library's attribute name
        return provider_configuration().token_endpoint

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return provider_configuration().userinfo_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return provider_configuration().jwks_uri

    # Keyword-only arguments: Django's `authenticate()` passes a password sign-in's
    # credentials only to backends whose signature takes them, so this one never sees them.
    def authenticate(self, request, *, sso_nonce: str, sso_code_verifier: str):
        """The person the provider's answer (in `request.GET`) signs in; raises SignInRefused."""
        if request is None or not settings.SSO_ENABLED:
            return None
        try:
            user = super().authenticate(request, nonce=sso_nonce, code_verifier=sso_code_verifier)
        except SignInRefused:
            raise
        except ProviderUnavailable:
            raise SignInRefused("provider_unavailable") from None
        except requests.HTTPError:
            raise SignInRefused("token_refused") from None
        except requests.RequestException:
            raise SignInRefused("provider_unavailable") from None
        except SuspiciousOperation:
            # The library's own refusal: no key in the provider's JWKS matches the token's.
            raise SignInRefused("bad_signature") from None
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            # No ID token, or one (or an answer) that is not what the protocol says.
            raise SignInRefused("bad_token") from None
        if user is None:
            raise SignInRefused("bad_state")  # no code or state in the answer
        return user

    def verify_token(self, token, **kwargs):
        """The ID token's claims, once its signature, issuer, audience, expiry and nonce are
        checked (the library's, with the nonce compared in constant time and never skipped)."""
        payload = self.get_payload_data(token, self.retrieve_matching_jwk(token))
        if "nonce" in kwargs:
            expected = kwargs["nonce"]
            got = payload.get("nonce")
            if not (
                isinstance(expected, str)
                and isinstance(got, str)
                and constant_time_compare(got, expected)
            ):
                raise SignInRefused("bad_nonce")
        return payload

    def get_payload_data(self, token, key):
        if jwt.get_unverified_header(token).get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SignInRefused("bad_signature")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=settings.OIDC_CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise SignInRefused("token_expired") from None
        except jwt.InvalidIssuerError:
            raise SignInRefused("wrong_issuer") from None
        except jwt.InvalidAudienceError:
            raise SignInRefused("wrong_audience") from None
        except jwt.MissingRequiredClaimError:
            raise SignInRefused("claims_missing") from None
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise SignInRefused("bad_signature") from None
        except jwt.PyJWTError:
            raise SignInRefused("bad_token") from None
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInRefused("wrong_audience")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SignInRefused("userinfo_mismatch")
        # The ID token's claims, with the userinfo's (fresher) beside them.
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        email = claims.get("email")
        if not isinstance(email, str) or not email.strip():
            raise SignInRefused("email_missing")
        email = email.strip()[:254]
        if claims.get("email_verified") not in (True, "true"):
            raise SignInRefused("email_unverified", email=email)
        people = list(self.UserModel.objects.filter(email__iexact=email)[:2])
        if len(people) != 1:
            # Two people with one address in different letter cases: neither is signed in.
            raise SignInRefused("unknown_person", email=email)
        person = people[0]
        if not person.is_active:
            raise SignInRefused("switched_off", email=email, person=person)
        return person

    def get_user(self, user_id):
        # As Django's ModelBackend: a person switched off is signed out on their next page.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    # Permissions are PortalBackend's; this backend grants none.
    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return False

    def has_module_perms(self, user_obj, app_label):
        return False

    def with_perm(self, perm, is_active=True, include_superusers=True, obj=None):
        return self.UserModel._default_manager.none()
