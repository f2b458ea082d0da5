"""The project app has no models of its own.

This module exists because Django only sends ``post_migrate`` (after ``migrate`` and after every
test-database flush) to apps with a models module, and the role sync in ``config.apps`` listens
for it.
"""
