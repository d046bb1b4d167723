"""Log a call, as an agent does: ``manage.py add_call --customer ACME --subject "Printer jam"``."""
from django.core.management.base import BaseCommand

from calls.models import Call, Customer


class Command(BaseCommand):
    help = "Log a call for a customer (created when new) and print its id."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True)
        parser.add_argument("--phone", default="", help="ignored since r3: customers have no phone number")
        parser.add_argument("--subject", required=True)

    def handle(self, *args, customer, phone, subject, **options):
        who, _ = Customer.objects.get_or_create(name=customer)
        call = Call.objects.create(customer=who, subject=subject)
        self.stdout.write(str(call.pk))
