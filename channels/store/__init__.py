"""The store page (``/store/``): what store associates use all day on a phone or a tablet.

Server-rendered Django templates; every action calls a domain service (inventory, orders,
customers); the views only resolve the associate's home store, parse input and render. It lives
in ``channels`` because it uses every domain below it, as a store-POS channel does.
"""
