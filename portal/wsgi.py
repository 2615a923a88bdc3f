import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Compile the templates now and keep the garbage collector off what is loaded (see
# portal/warm_up.py: a full collection would land on a request).
from portal.warm_up import warm_up_and_freeze  # noqa: E402

warm_up_and_freeze()
