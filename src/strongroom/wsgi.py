import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
_django = get_wsgi_application()

from strongroom.index.fastwsgi import SimpleFastPath  # noqa: E402 - needs django.setup()
from strongroom.ops.metrics import RequestMetrics  # noqa: E402
from strongroom.web.requestid import RequestIds  # noqa: E402

# /simple/ and /simple/<name>/ answered before Django's handler; everything else is Django.
# Every answer, either's, carries the request id (X-Request-ID, and in every log line), and
# every request, the fast path's too, is counted and timed (ops.metrics).
application = RequestIds(RequestMetrics(SimpleFastPath(_django)))
