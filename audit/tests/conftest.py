import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Factories hash TEST_PASSWORD for every person; PBKDF2 makes a 60-grant register slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
