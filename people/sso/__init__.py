"""Single sign-on with OpenID Connect (docs/single-sign-on.md).

mozilla-django-oidc does the protocol: the authorization request with state, nonce and PKCE,
the code exchange, fetching the provider's keys and the userinfo. This package adds what the
portal needs around it: the endpoints from the provider's discovery document
(`discovery.py`), the checks of the ID token the library leaves out (issuer, audience,
expiry) and matching a person to the staff directory (`backend.py`), and the pages and their
audit events (`views.py`).
"""

# The backend's path as Django stores it in the session of a person it signed in.
SSO_BACKEND = "people.sso.backend.SingleSignOnBackend"
