"""Product imports: the Shopify product CSV format and the background job that runs them.

Parsing and validation (``shopify.py``) produce a plan of plain rows; ``apply.py`` writes a plan
in one transaction with bulk statements, so a file is imported whole or not at all.
"""
