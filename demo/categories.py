"""The demo's own category tree: a few dozen categories of the Google product taxonomy, enough
for every demo product and for the Google and Meta feeds to name a valid category.

Each entry is a Google category id and its full path, spelled exactly as Google spells it, so
importing the full taxonomy later (``import_taxonomy PATH``) recognises these categories and only
adds the rest. The full file is not part of this project: ``docs/catalog.md`` says where to get it.
"""

from __future__ import annotations

# (Google category id, full path with " > " between levels); parents before children.
DEMO_CATEGORIES: list[tuple[int, str]] = [
    (166, "Apparel & Accessories"),
    (1604, "Apparel & Accessories > Clothing"),
    (5322, "Apparel & Accessories > Clothing > Activewear"),
    (2271, "Apparel & Accessories > Clothing > Dresses"),
    (203, "Apparel & Accessories > Clothing > Outerwear"),
    (5598, "Apparel & Accessories > Clothing > Outerwear > Coats & Jackets"),
    (204, "Apparel & Accessories > Clothing > Pants"),
    (212, "Apparel & Accessories > Clothing > Shirts & Tops"),
    (207, "Apparel & Accessories > Clothing > Shorts"),
    (1581, "Apparel & Accessories > Clothing > Skirts"),
    (208, "Apparel & Accessories > Clothing > Sleepwear & Loungewear"),
    (1594, "Apparel & Accessories > Clothing > Suits"),
    (213, "Apparel & Accessories > Clothing > Underwear & Socks"),
    (167, "Apparel & Accessories > Clothing Accessories"),
    (169, "Apparel & Accessories > Clothing Accessories > Belts"),
    (173, "Apparel & Accessories > Clothing Accessories > Hats"),
    (177, "Apparel & Accessories > Clothing Accessories > Scarves & Shawls"),
    (6551, "Apparel & Accessories > Handbags, Wallets & Cases"),
    (3032, "Apparel & Accessories > Handbags, Wallets & Cases > Handbags"),
    (187, "Apparel & Accessories > Shoes"),
    (436, "Furniture"),
    (443, "Furniture > Chairs"),
    (6499, "Furniture > Chairs > Arm Chairs, Recliners & Sleeper Chairs"),
    (460, "Furniture > Sofas"),
    (6392, "Furniture > Tables"),
    (536, "Home & Garden"),
    (696, "Home & Garden > Decor"),
    (3890, "Home & Garden > Decor > Clocks"),
    (595, "Home & Garden > Decor > Mirrors"),
    (597, "Home & Garden > Decor > Picture Frames"),
    (598, "Home & Garden > Decor > Rugs"),
    (4454, "Home & Garden > Decor > Throw Pillows"),
    (602, "Home & Garden > Decor > Vases"),
    (638, "Home & Garden > Kitchen & Dining"),
    (672, "Home & Garden > Kitchen & Dining > Tableware"),
    (673, "Home & Garden > Kitchen & Dining > Tableware > Dinnerware"),
    (3498, "Home & Garden > Kitchen & Dining > Tableware > Dinnerware > Bowls"),
    (3553, "Home & Garden > Kitchen & Dining > Tableware > Dinnerware > Plates"),
    (674, "Home & Garden > Kitchen & Dining > Tableware > Drinkware"),
    (2169, "Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs"),
    (689, "Home & Garden > Lawn & Garden"),
    (594, "Home & Garden > Lighting"),
    (4636, "Home & Garden > Lighting > Lamps"),
    (4171, "Home & Garden > Linens & Bedding"),
    (569, "Home & Garden > Linens & Bedding > Bedding"),
    (1985, "Home & Garden > Linens & Bedding > Bedding > Blankets"),
    (2541, "Home & Garden > Linens & Bedding > Bedding > Duvet Covers"),
    (2927, "Home & Garden > Linens & Bedding > Bedding > Pillowcases & Shams"),
    (4077, "Home & Garden > Linens & Bedding > Towels"),
    (985, "Home & Garden > Plants"),
]
