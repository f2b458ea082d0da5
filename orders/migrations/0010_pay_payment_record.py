# Payments (issue 17 part 5): the one payment record gets its provider, status and the amounts
# authorised, captured and refunded, plus a ledger of provider operations. An expand migration
# (docs/operations.md, "Upgrades"): ``amount`` is renamed ``amount_captured`` in the code only (its
# column stays ``amount``), the new columns are nullable or have database defaults, and the check
# constraints hold for rows the previous release inserts (no authorisation, nothing refunded).
# Existing rows were money taken at once (a till's tender, an online capture): what they refunded
# is the sum of their refunds.

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Sum


def _fill(apps, schema_editor):
    Payment = apps.get_model("orders", "Payment")
    Refund = apps.get_model("orders", "Refund")
    refunded = dict(
        Refund.objects.filter(payment__isnull=False)
        .values_list("payment_id")
        .annotate(total=Sum("amount"))
        .values_list("payment_id", "total")
    )
    for payment in Payment.objects.filter(pk__in=list(refunded)).iterator():
        payment.amount_refunded = min(refunded[payment.pk], payment.amount_captured)
        payment.save(update_fields=["amount_refunded"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_ship_shipping_methods"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="payment", name="orders_payment_positive"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField(
                    model_name="payment", old_name="amount", new_name="amount_captured"
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="amount_captured",
                    field=models.DecimalField(
                        db_column="amount", decimal_places=2, default=Decimal("0"), max_digits=12
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="payment",
            name="amount_authorised",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text=(
                    "What the provider authorised; empty when the money was taken at once (a "
                    "till's tender), where authorising does not apply."
                ),
                max_digits=12,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="amount_refunded",
            field=models.DecimalField(
                db_default=Decimal("0"), decimal_places=2, default=Decimal("0"), max_digits=12
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="provider",
            field=models.CharField(
                db_default="manual",
                default="manual",
                help_text=(
                    "The provider code (``orders.payments`` registry); ``manual`` records only."
                ),
                max_length=40,
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("authorized", "Authorized"),
                    ("partially_captured", "Partially captured"),
                    ("captured", "Captured"),
                    ("voided", "Voided"),
                    ("failed", "Failed"),
                ],
                db_default="captured",
                default="captured",
                max_length=20,
            ),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_captured__gte", 0), ("amount_refunded__gte", 0)),
                name="orders_payment_amounts_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount_authorised__isnull", True),
                    ("amount_captured__lte", models.F("amount_authorised")),
                    _connector="OR",
                ),
                name="orders_payment_capture_within_authorised",
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_refunded__lte", models.F("amount_captured"))),
                name="orders_payment_refund_within_captured",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="payment_status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("authorized", "Authorized"),
                    ("partially_captured", "Partially captured"),
                    ("captured", "Captured"),
                    ("partially_refunded", "Partially refunded"),
                    ("refunded", "Refunded"),
                ],
                default="authorized",
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="PaymentEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("authorise", "Authorise"),
                            ("capture", "Capture"),
                            ("refund", "Refund"),
                            ("void", "Void (authorisation released)"),
                            ("fail", "Failed"),
                            ("webhook", "Provider callback"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "amount",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12),
                ),
                ("provider", models.CharField(max_length=40)),
                (
                    "provider_event_id",
                    models.CharField(
                        blank=True,
                        help_text="The provider's event id of a callback.",
                        max_length=100,
                    ),
                ),
                (
                    "provider_reference",
                    models.CharField(
                        blank=True,
                        help_text="The provider's reference of the operation.",
                        max_length=100,
                    ),
                ),
                ("data", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "fulfillment",
                    models.ForeignKey(
                        blank=True,
                        help_text="The shipped fulfilment a capture is for.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="orders.fulfillment",
                    ),
                ),
                (
                    "payment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="orders.payment",
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("provider_event_id", ""), _negated=True),
                        fields=("provider", "provider_event_id"),
                        name="orders_paymentevent_once_per_provider_event",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount__gte", 0)),
                        name="orders_paymentevent_amount_not_negative",
                    ),
                ],
            },
        ),
    ]
