"""The scope ``stock:all_locations`` (issue 16): only the field's help text lists it; the scopes
themselves are validated by ``validate_scopes`` against ``core.scopes.Scope``."""

from django.db import migrations, models

import core.models.partners


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_adopt_moved_models"),
    ]

    operations = [
        migrations.AlterField(
            model_name="partnerapikey",
            name="scopes",
            field=models.JSONField(
                default=list,
                help_text=(
                    "Any of: catalog:read, stock:read, stock:write, stock:all_locations, "
                    "orders:read, orders:write, customers:read, customers:write, returns:write, "
                    "webhooks:manage"
                ),
                validators=[core.models.partners.validate_scopes],
            ),
        ),
    ]
