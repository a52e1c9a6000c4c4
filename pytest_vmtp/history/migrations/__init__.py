"""The store's schema migrations (alembic), shipped inside the package.

`vmtp-history upgrade` runs them (pytest_vmtp.history.migrate); nothing here is run by hand.
To change the schema: edit schema.py, then add a file to versions/ whose `down_revision` is the
newest one and whose upgrade() makes the same change (see 0002 for a data migration that
rebuilds derived rows from the stored documents). tests/history/test_migrations.py checks that
migrating an empty database ends exactly at schema.py's tables.
"""
