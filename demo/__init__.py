"""Demo data: ``manage.py seed_demo`` fills an empty database with a small or large shop.

It sits at the top of the layers because it uses every domain's services; nothing imports it.
"""
