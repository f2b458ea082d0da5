"""The store page (``/store/``): what store associates use all day on a phone or a tablet.

Server-rendered Django templates (``store/templates/store/``); every action calls a domain service
(inventory, orders, customers) and every read a selector; the views only resolve the user's chosen
store, check the action's permission (``store.access``), parse input and render. It is its own app
at the top because it composes every domain below it and belongs to none of them.
"""
