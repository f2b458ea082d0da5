"""A staff member becomes a membership per store: the one-to-one user link becomes a foreign key
and ``home_location`` becomes ``location``, so each existing home store is kept as the user's one
membership (no row is copied or lost). Adds the store page's permissions."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0005_location_code_reserved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(
            model_name="staffmember", old_name="home_location", new_name="location"
        ),
        migrations.AlterField(
            model_name="staffmember",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="store_memberships",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterModelOptions(
            name="staffmember",
            options={
                "ordering": ["user__username", "location__code"],
                "permissions": (
                    ("store_view_stock", "Store page: find stock"),
                    ("store_hold", "Store page: put aside and release holds"),
                    ("store_count", "Store page: count a shelf"),
                    ("store_receive_transfers", "Store page: receive and request transfers"),
                    ("store_hand_over", "Store page: pick and hand over pickups"),
                    ("store_return_refund", "Store page: receive returns and refund"),
                    ("store_redeem", "Store page: find a customer and redeem points"),
                    ("store_sell", "Store page: sell at the till"),
                    ("store_ship", "Store page: pick, pack and ship parcels"),
                ),
                "verbose_name": "store membership",
            },
        ),
        migrations.AddConstraint(
            model_name="staffmember",
            constraint=models.UniqueConstraint(
                fields=("user", "location"), name="inventory_staffmember_user_location_unique"
            ),
        ),
    ]
