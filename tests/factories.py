"""factory_boy factories for the foundation's models."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import User

from channels.models import WebhookSubscription
from core.models import Channel, Partner
from inventory.models import Location

STORE_PASSWORD = "a-long-demo-password"  # the store page tests' associates log in with it


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"loc-{n}")
    name = factory.LazyAttribute(lambda loc: f"Location {loc.code}")
    kind = Location.Kind.STORE
    city = "Amsterdam"
    country = "NL"
    latitude = Decimal("52.370000")
    longitude = Decimal("4.890000")
    offers_pickup = True


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda channel: channel.code.title())
    kind = Channel.Kind.WEBSHOP
    currency = "EUR"


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"partner-{n}")
    name = factory.LazyAttribute(lambda partner: partner.code.title())

    @factory.post_generation
    def channels(self, create: bool, extracted: list[Channel] | None, **kwargs: object) -> None:
        if create and extracted:
            self.channels.set(extracted)


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    partner = factory.SubFactory(PartnerFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example/{n}")
    events = ["order.created"]
