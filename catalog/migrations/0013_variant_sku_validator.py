# A SKU is part of URLs: no "/", no control characters, not "." or ".." (issue 19). Validators
# live in the migration state only: no database change.

from django.db import migrations, models

import catalog.models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0012_bulk_edit_jobs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalvariant",
            name="sku",
            field=models.CharField(
                db_index=True, max_length=64, validators=[catalog.models.SkuValidator()]
            ),
        ),
        migrations.AlterField(
            model_name="variant",
            name="sku",
            field=models.CharField(
                max_length=64, unique=True, validators=[catalog.models.SkuValidator()]
            ),
        ),
    ]
