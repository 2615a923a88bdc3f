"""A real OpenID Connect provider for the single sign-on tests: a small Django project with
django-oauth-toolkit, started by `launch.start_provider` on a loopback port, with its own
SQLite database and an RS256 key made at start (docs/single-sign-on.md). `forged.py` is the
other end: a provider that signs what a test asks for, for the answers a real one never
gives (another key, issuer or audience, an expired token, the wrong nonce).
"""
