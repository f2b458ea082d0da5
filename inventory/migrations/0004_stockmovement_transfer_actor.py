"""Stock movements and transfers record their author through ``core.actors.ActorRecorded``.

The old author columns are renamed, so every row keeps its user or partner
(``StockMovement.user`` -> ``actor_user``, ``StockMovement.partner`` -> ``actor_partner``,
``Transfer.created_by`` -> ``actor_user``); ``actor_kind`` and ``actor_name`` are then filled from
them: the partner's code, else the user's username, else blank (the unnamed system). Both foreign keys stay
``PROTECT``: a user or partner who moved stock is deactivated, never deleted.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def actors_fill(apps, schema_editor):
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Partner = apps.get_model("core", "Partner")
    username = getattr(User, "USERNAME_FIELD", "username")
    for name in ("StockMovement", "Transfer"):
        rows = apps.get_model("inventory", name)._base_manager.all()
        rows.filter(actor_partner__isnull=False).update(
            actor_kind="partner",
            actor_name=Subquery(
                Partner.objects.filter(pk=OuterRef("actor_partner_id")).values("code")[:1]
            ),
        )
        rows.filter(actor_partner__isnull=True, actor_user__isnull=False).update(
            actor_kind="user",
            actor_name=Subquery(
                User._base_manager.filter(pk=OuterRef("actor_user_id")).values(username)[:1]
            ),
        )
        rows.filter(actor_partner__isnull=True, actor_user__isnull=True).update(
            actor_kind="system", actor_name=""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("inventory", "0003_transfer_expected_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="stockmovement", old_name="user", new_name="actor_user"),
        migrations.RenameField(
            model_name="stockmovement", old_name="partner", new_name="actor_partner"
        ),
        migrations.AlterField(
            model_name="stockmovement",
            name="actor_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="stockmovement",
            name="actor_partner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.partner",
            ),
        ),
        migrations.AddField(
            model_name="stockmovement",
            name="actor_kind",
            field=models.CharField(
                choices=[("user", "Staff user"), ("partner", "Partner"), ("system", "System")],
                default="system",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="stockmovement",
            name="actor_name",
            field=models.CharField(blank=True, default="", max_length=150),
            preserve_default=False,
        ),
        migrations.RenameField(model_name="transfer", old_name="created_by", new_name="actor_user"),
        migrations.AlterField(
            model_name="transfer",
            name="actor_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="transfer",
            name="actor_partner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.partner",
            ),
        ),
        migrations.AddField(
            model_name="transfer",
            name="actor_kind",
            field=models.CharField(
                choices=[("user", "Staff user"), ("partner", "Partner"), ("system", "System")],
                default="system",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="transfer",
            name="actor_name",
            field=models.CharField(blank=True, default="", max_length=150),
            preserve_default=False,
        ),
        migrations.RunPython(actors_fill, migrations.RunPython.noop),
    ]
