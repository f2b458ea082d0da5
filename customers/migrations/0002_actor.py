"""Notes, merge audits and GDPR audits record their author through ``core.actors.ActorRecorded``.

The old author columns are renamed, so every row keeps its user (``CustomerNote.author``,
``MergeAudit.user`` and ``CustomerAudit.user`` -> ``actor_user``, still ``SET_NULL``);
``actor_kind`` and ``actor_name`` are then filled from them: the user's username, else blank (the unnamed system).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

MODELS = {"customernote": "author", "mergeaudit": "user", "customeraudit": "user"}

KIND = models.CharField(
    choices=[("user", "Staff user"), ("partner", "Partner"), ("system", "System")],
    default="system",
    max_length=10,
)


def actors_fill(apps, schema_editor):
    User = apps.get_model(settings.AUTH_USER_MODEL)
    username = getattr(User, "USERNAME_FIELD", "username")
    for name in MODELS:
        rows = apps.get_model("customers", name)._base_manager.all()
        rows.filter(actor_user__isnull=False).update(
            actor_kind="user",
            actor_name=Subquery(
                User._base_manager.filter(pk=OuterRef("actor_user_id")).values(username)[:1]
            ),
        )
        rows.filter(actor_user__isnull=True).update(actor_kind="system", actor_name="")


def _operations(model_name, old_name):
    return [
        migrations.RenameField(model_name=model_name, old_name=old_name, new_name="actor_user"),
        migrations.AlterField(
            model_name=model_name,
            name="actor_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name=model_name,
            name="actor_partner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="core.partner",
            ),
        ),
        migrations.AddField(model_name=model_name, name="actor_kind", field=KIND.clone()),
        migrations.AddField(
            model_name=model_name,
            name="actor_name",
            field=models.CharField(blank=True, default="", max_length=150),
            preserve_default=False,
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("customers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        *[op for model_name, old in MODELS.items() for op in _operations(model_name, old)],
        migrations.RunPython(actors_fill, migrations.RunPython.noop),
    ]
