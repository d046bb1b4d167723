"""The demo's data: an agent who can sign in, three customers and their calls. Idempotent."""
import datetime
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from calls.models import Call, Customer

CUSTOMERS = [("ACME Ltd", "+44 20 7946 0001"), ("Globex", "+44 161 496 0002"), ("Initech", "+44 113 496 0003")]
CALLS = [
    ("ACME Ltd", "  printer on FIRE again", "open"),
    ("ACME Ltd", "Invoice 4411 is wrong", "closed"),
    ("Globex", "vpn drops every hour  ", "open"),
    ("Initech", "TPS report template missing", "open"),
]
START = datetime.datetime(2025, 11, 10, 9, 0, tzinfo=datetime.timezone.utc)


class Command(BaseCommand):
    help = "Create the demo agent (password from DEMO_AGENT_PASSWORD), customers and calls, once."

    @transaction.atomic
    def handle(self, *args, **options):
        user_model = get_user_model()
        created = []
        if not user_model.objects.filter(username="agent").exists():
            user_model.objects.create_user("agent", "agent@example.com", os.environ["DEMO_AGENT_PASSWORD"])
            created.append("user agent")
        customers = {}
        for name, phone in CUSTOMERS:
            customers[name], new = Customer.objects.get_or_create(name=name, defaults={"phone": phone})
            if new:
                created.append("customer %s" % name)
        for minutes, (name, subject, status) in enumerate(CALLS):
            _, new = Call.objects.get_or_create(
                customer=customers[name], subject=subject,
                defaults={"status": status, "created_at": START + datetime.timedelta(minutes=17 * minutes)})
            if new:
                created.append("call %r" % subject)
        self.stdout.write("created: %s" % (", ".join(created) if created else "nothing"))
