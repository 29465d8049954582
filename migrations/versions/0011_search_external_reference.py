"""search: incidents' external reference and the search terms they are found by

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:10:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from recovery.domain.search import incident_terms

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 1000


def upgrade() -> None:
    # Incidents opened before this have no external reference: the column starts null.
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_ref", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_incidents_external_ref", ["external_ref"], unique=False)
    terms = op.create_table(
        "search_terms",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_search_terms_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", "term", name=op.f("pk_search_terms")),
    )
    with op.batch_alter_table("search_terms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_terms_term",
            ["term", "site", "incident_id"],
            unique=False,
            postgresql_ops={"term": "text_pattern_ops"},
        )
        batch_op.create_index(
            "ix_search_terms_site_term",
            ["site", "term", "incident_id"],
            unique=False,
            postgresql_ops={"term": "text_pattern_ops"},
        )
    _backfill_terms(terms)


def _backfill_terms(terms: sa.Table) -> None:
    """Existing incidents are found by their id and their customer, as new ones are."""
    incidents = sa.table(
        "incidents", sa.column("id", sa.String), sa.column("site"), sa.column("state")
    )
    bind = op.get_bind()
    after = ""
    while True:
        rows = bind.execute(
            sa.select(incidents.c.id, incidents.c.site, incidents.c.state)
            .where(incidents.c.id > after)
            .order_by(incidents.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        found = []
        for incident_id, site, raw in rows:
            customer = json.loads(raw).get("customer") or {}
            found.extend(
                {"incident_id": incident_id, "term": term, "site": site}
                for term in sorted(incident_terms(incident_id, customer, None))
            )
        if found:
            bind.execute(terms.insert(), found)
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("search_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_search_terms_site_term")
        batch_op.drop_index("ix_search_terms_term")
    op.drop_table("search_terms")
    # not a batch: copying `incidents` would break the keys the other tables hold to it
    # (SQLite drops an unindexed column in place, since 3.35)
    op.drop_index("ix_incidents_external_ref", table_name="incidents")
    op.drop_column("incidents", "external_ref")
