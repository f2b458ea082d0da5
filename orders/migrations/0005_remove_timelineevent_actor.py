"""Drop the free-text ``actor`` of the timeline, read into the ``ActorRecorded`` columns by 0004."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_timelineevent_actor_recorded'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='timelineevent',
            name='actor',
        ),
    ]
