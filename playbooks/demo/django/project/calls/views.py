from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render

from .models import Call


def health(request):
    """200 with the release and the database reachable, else 503 (for load balancers and rewind)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except DatabaseError as exc:
        database = "error: %s" % exc.__class__.__name__
    ok = database == "ok"
    return JsonResponse({"status": "ok" if ok else "error", "release": settings.RELEASE, "database": database},
                        status=200 if ok else 503)


@login_required
def call_list(request):
    calls = Call.objects.select_related("customer")[:50]
    return render(request, "calls/call_list.html", {"calls": calls, "release": settings.RELEASE})
