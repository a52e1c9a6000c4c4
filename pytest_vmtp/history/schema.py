"""The store's tables at the current schema version (SQLAlchemy Core).

Why SQLAlchemy Core: one table definition and one query code for SQLite and PostgreSQL (types,
quoting, JSON vs JSONB, placeholders), connection pooling, and the dialect that alembic's
migrations are written in; the ORM would add a layer this small store does not need.

The run's JSON document is stored whole (the canonical record); the other columns are copies
of what baselines and charts select by: cloud, run id, tags, date, and one row per figure
(pytest_vmtp.gate.figures). Every name is prefixed `vmtp_`, so a team's PostgreSQL database can
hold other tables too. A change here needs a migration in migrations/versions/ (the tests check
that migrating an empty database gives exactly these tables).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

VERSION_TABLE = "vmtp_alembic_version"
RUN_ID_LEN = 32
CLOUD_LEN = 255
TAG_LEN = 64


def json_type() -> JSON:
    """JSON text on SQLite, JSONB on PostgreSQL (queryable and indexable there)."""
    return JSON().with_variant(JSONB(), "postgresql")


metadata = MetaData()

runs = Table(
    "vmtp_runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(RUN_ID_LEN), nullable=False),
    Column("cloud", String(CLOUD_LEN), nullable=True),
    Column("date", DateTime, nullable=False),
    Column("description", Text, nullable=True),
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("added_at", DateTime, nullable=False),
    Column("document", json_type(), nullable=False),
    Index("ix_vmtp_runs_run_id", "run_id", unique=True),
    Index("ix_vmtp_runs_cloud_date", "cloud", "date"),
    Index("ix_vmtp_runs_date", "date"),
)

tags = Table(
    "vmtp_tags", metadata,
    Column("run_pk", Integer, ForeignKey("vmtp_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(TAG_LEN), primary_key=True),
    Index("ix_vmtp_tags_tag", "tag"),
)

figures = Table(
    "vmtp_figures", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_pk", Integer, ForeignKey("vmtp_runs.id", ondelete="CASCADE"), nullable=False),
    Column("scenario", String(16), nullable=False),
    Column("what", String(64), nullable=False),
    Column("metric", String(32), nullable=False),
    Column("value", Float, nullable=False),
    Column("samples", json_type(), nullable=False),
    Column("spread", Float, nullable=False),
    Index("ix_vmtp_figures_run_pk", "run_pk"),
    Index("ix_vmtp_figures_scenario_metric", "scenario", "metric"),
)
