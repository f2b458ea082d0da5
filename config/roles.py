"""Staff roles: Django groups with exact permissions, defined here once.

The groups are created by a migration (``config/migrations``) and kept exactly in step with this
table after every ``migrate`` (domain issues add their models' permissions here and a migration).
A permission listed here that does not exist is an error, so a typo cannot silently grant nothing.
"""

from __future__ import annotations

from typing import Any

from store import permissions as store_permissions

MERCHANDISER = "Merchandiser"
CATALOG_APPROVER = "Catalog approver"
INVENTORY_MANAGER = "Inventory manager"
STORE_ASSOCIATE = "Store associate"
STORE_MANAGER = "Store manager"
CUSTOMER_SERVICE = "Customer service"
AUDITOR = "Auditor"
OPERATOR = "Operator"

_VIEW_CHANNELS = ["core.view_channel"]
_VIEW_LOCATIONS = ["inventory.view_location"]
_VIEW_ORDERS = [
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_fulfillment",
    "orders.view_return",
    "orders.view_refund",
]
_CATALOG_MODELS = [
    "product",
    "variant",
    "productmedia",
    "price",
    "channelcontent",
    "attribute",
    "attributeoption",
    "producttype",
    "producttypeattribute",
]
# Merchandisers edit the whole catalog; approving is the catalog approvers' alone.
_CATALOG_EDIT = [
    *(
        f"catalog.{action}_{model}"
        for model in _CATALOG_MODELS
        for action in ("view", "add", "change", "delete")
    ),
    "catalog.view_productpublication",
    "catalog.view_productcompleteness",
    "catalog.view_importjob",
    "catalog.add_importjob",
    "catalog.view_bulkeditjob",  # the progress and row results of their bulk edits
    "catalog.view_bulkeditjobrow",
]

# What store staff read in the back office: locations, the stock and the orders.
_STORE_STAFF_VIEW = [
    *_VIEW_LOCATIONS,
    "inventory.view_stocklevel",
    "inventory.view_stockmovement",
    *_VIEW_ORDERS,
    "orders.change_fulfillment",  # pick, ready for pickup, hand over, ship from store
    "orders.change_return",  # receive returns at the counter
]

# The dashboard on the admin home page and the report pages (``reports``): sales, stock, returns
# and service figures, without any right to change what they count.
_VIEW_REPORTS = ["reports.view_reports"]
# The dashboard alone, without the report pages and the reporting API.
_VIEW_DASHBOARD = ["reports.view_dashboard"]

# The channel-operations pages: channels and their sync health (the feed rebuild action comes
# with viewing), every push and webhook delivery (the retry action comes with viewing), what each
# channel lists, feed items, the stores' POS acknowledgements and the outbox change events.
# Operators pause or repoint a partner's webhook subscription, but never create or delete one
# (partners do that through the API).
_CHANNEL_OPERATIONS = [
    "core.view_channel",
    "core.view_changeevent",
    "channels.view_delivery",
    "channels.view_deliveryattempt",
    "channels.view_listing",
    "channels.view_feeditem",
    "channels.view_storeacknowledgement",
    "channels.view_webhooksubscription",
    "channels.change_webhooksubscription",
]

# The money features (docs/orders.md: "Tax", "Promotions", "Gift cards", "Shipping").
_VIEW_TAX = ["core.view_taxclass", "core.view_taxrate"]  # product types name a tax class
_PROMOTIONS_EDIT = [
    f"orders.{action}_{model}"
    for model in ("promotion", "coupon", "couponbatch")
    for action in ("view", "add", "change")
]
_SHIPPING_EDIT = [
    "orders.view_shippingmethod",
    "orders.add_shippingmethod",
    "orders.change_shippingmethod",
    *(
        f"orders.{action}_{model}"
        for model in ("shippingzone", "shippingrate", "nonworkingday")
        for action in ("view", "add", "change", "delete")
    ),
]
_GIFT_CARDS_ISSUE = [
    "orders.view_giftcard",
    "orders.view_giftcardentry",
    "orders.add_giftcard",  # issue (the admin's "issue a gift card" form)
    "orders.change_giftcard",  # disable
]
# Everything the money features added, read-only: what the auditor reads.
_MONEY_VIEW = [
    *(
        f"orders.view_{model}"
        for model in (
            "promotion",
            "coupon",
            "couponbatch",
            "couponredemption",
            "giftcard",
            "giftcardentry",
            "shippingmethod",
            "shippingzone",
            "shippingrate",
            "nonworkingday",
            "paymentevent",
            "ordertaxline",
        )
    ),
    *_VIEW_TAX,
    "core.view_channelcountry",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    MERCHANDISER: [
        "catalog.view_category",
        "catalog.add_category",
        "catalog.change_category",
        *_CATALOG_EDIT,
        "catalog.publish_product",
        *_VIEW_CHANNELS,
        "channels.view_listing",
        *_VIEW_LOCATIONS,
        *_PROMOTIONS_EDIT,
        "orders.view_couponredemption",  # the uses of a code, on its page
        *_VIEW_TAX,
        *_VIEW_REPORTS,
    ],
    CATALOG_APPROVER: [
        "catalog.view_category",
        "catalog.change_category",
        *_CATALOG_EDIT,
        "catalog.approve_product",
        "catalog.publish_product",
        *_VIEW_CHANNELS,
        *_VIEW_TAX,
        *_VIEW_REPORTS,  # the approval queue and the completeness gaps on the dashboard
    ],
    INVENTORY_MANAGER: [
        "catalog.view_category",
        "inventory.view_location",
        "inventory.add_location",
        "inventory.change_location",
        "inventory.view_staffmember",
        "inventory.view_stocklevel",
        "inventory.change_stocklevel",
        "inventory.view_stockmovement",
        "inventory.add_stockmovement",
        "inventory.view_stockhold",
        "inventory.view_transfer",
        "inventory.add_transfer",
        "inventory.change_transfer",
        "inventory.view_transferline",
        "inventory.add_transferline",
        "inventory.change_transferline",
        "inventory.delete_transferline",
        *_VIEW_CHANNELS,
        *_VIEW_ORDERS,
        *_SHIPPING_EDIT,  # with the locations' cut-off times (change_location)
        *_VIEW_REPORTS,
    ],
    # The store page (``store.permissions``, checked per view) at the stores the user is a member
    # of: an associate works all of it at their (normally one) store
    STORE_ASSOCIATE: [*_STORE_STAFF_VIEW, *store_permissions.ALL],
    # a store manager does the same, at each of the several stores they may be a member of, and
    # sees the figures of those stores (``reports.access``)
    STORE_MANAGER: [*_STORE_STAFF_VIEW, *store_permissions.ALL, *_VIEW_REPORTS],
    CUSTOMER_SERVICE: [
        *_VIEW_CHANNELS,
        *_VIEW_LOCATIONS,
        *_VIEW_ORDERS,
        "orders.change_order",  # cancel
        "orders.add_return",
        "orders.change_return",
        "orders.add_refund",
        "customers.view_customer",
        "customers.change_customer",
        "customers.merge_customer",
        "customers.export_customer",
        "customers.erase_customer",
        "customers.view_customeridentifier",
        "customers.view_mergecandidate",
        "customers.change_mergecandidate",
        "customers.view_mergeaudit",
        "customers.view_customeraudit",
        "customers.view_loyaltyearnrule",
        *_GIFT_CARDS_ISSUE,
        # why a customer's code was refused or discounted: its promotion and its uses
        "orders.view_promotion",
        "orders.view_coupon",
        "orders.view_couponredemption",
        *_VIEW_REPORTS,  # open returns and refunds waiting, on the dashboard
    ],
    # Reads the audit log of sensitive actions; kept apart from the roles that carry those
    # actions out (and whose colleagues' addresses it shows); reads the money features' records
    # too, without changing any.
    AUDITOR: ["core.view_auditentry", *_MONEY_VIEW],
    # Keeps the channels in sync: the channel-operations pages and the dashboard, nothing else.
    OPERATOR: [*_CHANNEL_OPERATIONS, *_VIEW_DASHBOARD],
}


def roles_sync(apps: Any = None, *, strict: bool = True) -> None:
    """Create the role groups and give each exactly the permissions listed above.

    ``apps`` is the migration state's registry inside a migration and the live registry otherwise.
    With ``strict`` a listed permission that does not exist raises ``LookupError``; migrations
    pass ``strict=False`` because later models' permissions do not exist yet at that point.
    """
    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        wanted = set(names)
        found = {}
        for perm in permission_model.objects.select_related("content_type").filter(
            content_type__app_label__in={name.split(".")[0] for name in wanted}
        ):
            key = f"{perm.content_type.app_label}.{perm.codename}"
            if key in wanted:
                found[key] = perm
        missing = wanted - found.keys()
        if missing and strict:
            raise LookupError(f"Role {role!r} lists unknown permissions: {sorted(missing)}")
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(list(found.values()))
