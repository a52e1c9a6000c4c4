"""alembic's entry point: runs the migrations on the connection handed over by
pytest_vmtp.history.migrate (config.attributes["connection"]), inside its transaction."""

from __future__ import annotations

from alembic import context

from pytest_vmtp.history.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite alters tables by copying them: alembic's batch mode
)
with context.begin_transaction():
    context.run_migrations()
