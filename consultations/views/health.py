"""GET /healthz: the state of the database, the broker and the Celery workers."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any failure is reported, not raised
        return {"ok": False, "error": str(exc)[:200]}


def _check_broker_and_workers() -> tuple[dict, dict]:
    if not settings.CELERY_BROKER_URL:
        eager = {"ok": True, "mode": "eager", "detail": "no broker configured; tasks run in-process"}
        return eager, dict(eager)
    from config.celery import app

    # The broker named in the settings, not whatever the Celery app loaded at start-up: the
    # check must report on the configuration this process actually runs with.
    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            broker = {"ok": True}
            try:
                replies = app.control.ping(timeout=settings.HEALTHZ_WORKER_TIMEOUT, connection=conn) or []
            except Exception as exc:
                return broker, {"ok": False, "error": str(exc)[:200]}
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}, {"ok": False, "error": "broker unreachable"}
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return broker, {"ok": False, "error": "no Celery worker answered"}
    return broker, {"ok": True, "workers": names}


@never_cache
@require_GET
def healthz(request):
    database = _check_database()
    broker, workers = _check_broker_and_workers()
    checks = {"database": database, "broker": broker, "workers": workers}
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if not failing else "fail", "failing": failing, "checks": checks}
    return JsonResponse(body, status=200 if not failing else 503)
