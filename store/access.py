"""Who may do what on the store page, and at which store.

Every store page view is wrapped in :func:`store_view` with the permissions its action needs
(``store.permissions``). The wrapper lets through a logged-in user who is a member of at least
one store (``inventory.StaffMember``) and whose role grants every permission named; the chosen
store is ``request.store`` and the user's stores are ``request.stores``. A user with several
stores (a store manager) chooses one with ``?store=CODE`` (kept in the session, the first by
code until then); naming a store they are not a member of is refused. Everyone else gets a 403
page that says what is missing: no store, or which permission.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inventory import selectors as stock
from inventory.models import STORE_PERMISSIONS, Location
from orders import selectors as order_selectors
from store import permissions

SESSION_STORE = "store-code"
LABELS = {f"inventory.{codename}": label for codename, label in STORE_PERMISSIONS}

View = Callable[..., HttpResponse]


def forbidden(request: HttpRequest, missing: Sequence[str]) -> HttpResponse:
    """The 403 page naming the permissions the user's role lacks for this action."""
    return render(
        request,
        "store/forbidden.html",
        {"missing": [(name, LABELS.get(name, name)) for name in missing]},
        status=403,
    )


def _chosen_store(request: HttpRequest, stores: list[Location]) -> Location | None:
    """The store asked for (``?store=CODE``), else the one kept in the session, else the first.
    ``None`` when the store asked for is not one of the user's."""
    by_code = {store.code: store for store in stores}
    asked = request.GET.get("store", "").strip()
    if asked:
        if asked not in by_code:
            return None
        request.session[SESSION_STORE] = asked
        return by_code[asked]
    kept = request.session.get(SESSION_STORE)
    return by_code.get(kept) if isinstance(kept, str) and kept in by_code else stores[0]


def store_view(*needed: str) -> Callable[[View], View]:
    """Wrap a store page view: a member of a store whose role grants every permission in
    ``needed``; the view acts for ``request.store`` only."""
    unknown = [name for name in needed if name not in permissions.ALL]
    if not needed or unknown:
        raise ValueError(f"A store view needs store permissions, not {unknown or 'none'}")

    def decorate(view: View) -> View:
        @login_required(login_url="store:login")
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user: Any = request.user
            stores = list(stock.staff_store_list(user_id=int(user.pk)))
            if not stores:
                return render(request, "store/no_store.html", status=403)
            store = _chosen_store(request, stores)
            if store is None:
                return render(
                    request,
                    "store/no_store.html",
                    {"asked": request.GET.get("store", "")},
                    status=403,
                )
            request.store = store  # type: ignore[attr-defined]
            request.stores = stores  # type: ignore[attr-defined]
            missing = [name for name in needed if not user.has_perm(name)]
            if missing:
                return forbidden(request, missing)
            request.pickups_to_do = (  # type: ignore[attr-defined]
                order_selectors.pickups_to_pick_count(location_id=store.pk)
                if user.has_perm(permissions.HAND_OVER)
                else 0
            )
            return view(request, *args, **kwargs)

        wrapper.store_permissions = tuple(needed)  # type: ignore[attr-defined]
        return wrapper

    return decorate
