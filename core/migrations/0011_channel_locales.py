"""Channel locales: the languages a channel sells in per country (``ChannelCountry.languages``,
e.g. ``nl, fr`` for Belgium) beside the channel's default ``locale``, which is now validated
against the content languages (``settings.LANGUAGES``). Existing rows get no languages: a country
without any sells in the channel's own language, as before."""

from django.db import migrations, models

import core.models.channels


class Migration(migrations.Migration):
    dependencies = [("core", "0010_reports_read_scope")]

    operations = [
        migrations.AddField(
            model_name="channelcountry",
            name="languages",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Languages the channel sells in here, the country's default first, "
                "e.g. 'nl, fr' for BE. Empty: the channel's own language.",
                max_length=50,
                validators=[core.models.channels.languages_validate],
            ),
        ),
        migrations.AlterField(
            model_name="channel",
            name="locale",
            field=models.CharField(
                default="en-US",
                help_text="The channel's default locale, e.g. nl-NL: its language is the one a "
                "product is shown in when nothing else is asked (countries may add languages).",
                max_length=10,
                validators=[core.models.channels.channel_locale_validate],
            ),
        ),
    ]
