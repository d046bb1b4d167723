from django.db import models
from django.utils import timezone


class Customer(models.Model):
    name = models.CharField(max_length=100, unique=True)
    phone = models.CharField(max_length=32)

    def __str__(self):
        return self.name


class Call(models.Model):
    STATUSES = [("open", "Open"), ("closed", "Closed")]

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="calls")
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=STATUSES, default="open")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.subject
