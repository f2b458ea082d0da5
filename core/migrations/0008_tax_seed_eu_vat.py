"""Seed the tax classes and the EU VAT rates of NL, BE, DE and FR (current values).

A frozen copy of ``core.tax.EU_VAT_RATES`` (a test keeps the two equal): a migration must not
change when the code does. A country with fewer rates maps the classes it has no rate for to its
reduced rate. Reversing removes only the rows this migration would have created, untouched.
"""

from decimal import Decimal

from django.db import migrations

CLASSES = [
    ("standard", "Standard rate"),
    ("intermediate", "Intermediate rate (e.g. restaurants, transport, renovation)"),
    ("reduced", "Reduced rate (e.g. food, books)"),
    ("super_reduced", "Super-reduced rate (e.g. medicines, press)"),
    ("zero", "Zero rate (exempt with right of deduction)"),
]

# country: [(class, the country's name for the rate, percent)]
RATES = {
    "NL": [
        ("standard", "standard", "21.00"),
        ("intermediate", "reduced", "9.00"),
        ("reduced", "reduced", "9.00"),
        ("super_reduced", "reduced", "9.00"),
        ("zero", "zero", "0.00"),
    ],
    "BE": [
        ("standard", "standard", "21.00"),
        ("intermediate", "intermediate", "12.00"),
        ("reduced", "reduced", "6.00"),
        ("super_reduced", "reduced", "6.00"),
        ("zero", "zero", "0.00"),
    ],
    "DE": [
        ("standard", "standard", "19.00"),
        ("intermediate", "reduced", "7.00"),
        ("reduced", "reduced", "7.00"),
        ("super_reduced", "reduced", "7.00"),
        ("zero", "zero", "0.00"),
    ],
    "FR": [
        ("standard", "standard", "20.00"),
        ("intermediate", "intermediate", "10.00"),
        ("reduced", "reduced", "5.50"),
        ("super_reduced", "super_reduced", "2.10"),
        ("zero", "zero", "0.00"),
    ],
}


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    TaxClass = apps.get_model("core", "TaxClass")
    TaxRate = apps.get_model("core", "TaxRate")
    classes = {}
    for code, name in CLASSES:
        classes[code], _ = TaxClass.objects.get_or_create(code=code, defaults={"name": name})
    for country, rates in RATES.items():
        for class_code, name, rate in rates:
            TaxRate.objects.get_or_create(
                country=country,
                tax_class=classes[class_code],
                defaults={"name": name, "rate": Decimal(rate)},
            )


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    TaxRate = apps.get_model("core", "TaxRate")
    for country, rates in RATES.items():
        for class_code, name, rate in rates:
            TaxRate.objects.filter(
                country=country, tax_class__code=class_code, name=name, rate=Decimal(rate)
            ).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0007_tax_classes_rates_channel_countries")]

    operations = [migrations.RunPython(seed, unseed)]
