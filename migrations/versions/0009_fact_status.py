"""Facts with a status: each facility row says reported (with its source) or verified present/absent (by whom,
when, how); bases get facts_source and verified like sites.

Existing facility rows become `reported`, their source the site's facts_source.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("site_tags", sa.Column("status", sa.String(20)))
    op.add_column("site_tags", sa.Column("source", sa.Text()))
    op.add_column("site_tags", sa.Column("verified_by", sa.String(64)))
    op.add_column("site_tags", sa.Column("verified_at", sa.Date()))
    op.add_column("site_tags", sa.Column("verified_how", sa.String(16)))
    op.execute("UPDATE site_tags SET status = 'reported', "
               "source = (SELECT sites.facts_source FROM sites WHERE sites.id = site_tags.site_id) "
               "WHERE vocabulary = 'facility'")
    op.drop_index("ix_site_tags_term", table_name="site_tags")
    op.create_index("ix_site_tags_term", "site_tags", ["vocabulary", "term", "site_id", "status"])
    op.add_column("themed_bases", sa.Column("facts_source", sa.Text()))
    op.add_column("themed_bases", sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    # SQLite (3.35+) and PostgreSQL both drop a column in place; SpatiaLite's geometry tables are not rebuilt.
    op.drop_column("themed_bases", "verified")
    op.drop_column("themed_bases", "facts_source")
    op.drop_index("ix_site_tags_term", table_name="site_tags")
    op.create_index("ix_site_tags_term", "site_tags", ["vocabulary", "term", "site_id"])
    for column in ("verified_how", "verified_at", "verified_by", "source", "status"):
        op.drop_column("site_tags", column)
