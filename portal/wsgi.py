import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Compile the templates now and keep the garbage collector off what is loaded (see
# portal/warm_up.py: full collections were the register page's slowest 1%).
from portal.warm_up import warm_up_and_freeze  # noqa: E402

warm_up_and_freeze()
