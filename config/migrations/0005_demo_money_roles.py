from django.db import migrations


def sync_roles(apps, schema_editor):
    from config.migrations import _roles

    _roles.create_permissions_and_sync(apps)


class Migration(migrations.Migration):
    """Give the roles the money features' permissions: promotions and coupons (merchandisers),
    gift cards (customer service), shipping (inventory managers), tax (view), and view-only on
    all of them for the auditor. Reversing leaves the groups as they are (the roles table of the
    code that runs then re-syncs them after its migrate)."""

    dependencies = [
        ("project", "0004_auditor_role"),
        ("core", "0008_tax_seed_eu_vat"),
        ("orders", "0012_pricing_tax_lines"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
