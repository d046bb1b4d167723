"""Smoke tests: run against the live site after a deployment or a rollback.

    SMOKE_BASE_URL=http://localhost python manage.py test --tag=smoke

They request the site through nginx and touch no test database (SimpleTestCase), so they
can run on a production host. rewind's django_gunicorn role runs them in the release it
rolled back to and fails the rollback, naming the test, when one fails.
"""
import json
import os
import re
import urllib.error
import urllib.request

from django.test import SimpleTestCase, tag

BASE_URL = os.environ.get("SMOKE_BASE_URL", "http://localhost").rstrip("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(path):
    """(status, headers, body) of a GET, redirects not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(BASE_URL + path, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode(errors="replace")


@tag("smoke")
class SmokeTests(SimpleTestCase):
    def test_health_reports_the_database_ok(self):
        status, _, body = fetch("/health/")
        self.assertEqual(status, 200, body[:200])
        self.assertEqual(json.loads(body)["database"], "ok")

    def test_login_page_renders_a_form(self):
        status, _, body = fetch("/accounts/login/")
        self.assertEqual(status, 200)
        self.assertIn('name="csrfmiddlewaretoken"', body)
        self.assertIn('name="username"', body)

    def test_calls_page_asks_for_a_login(self):
        status, headers, _ = fetch("/calls/")
        self.assertEqual(status, 302)
        self.assertTrue(headers["Location"].startswith("/accounts/login/"), headers["Location"])

    def test_stylesheet_is_served(self):
        _, _, body = fetch("/accounts/login/")
        match = re.search(r'href="(/static/calls/app\.[0-9a-f]+\.css)"', body)
        self.assertIsNotNone(match, "no hashed stylesheet link in the login page")
        status, headers, _ = fetch(match.group(1))
        self.assertEqual(status, 200)
        self.assertIn("text/css", headers["Content-Type"])
