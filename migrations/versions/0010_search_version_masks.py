"""Search without scans: a data_version counter bumped by triggers on every write to the searched tables (the key
of the result cache, read in one primary-key look-up), and the tag vocabularies as bitmasks on the site row, kept
equal to site_tags by triggers (scouting/db.py holds both databases' trigger DDL).

tag_bits holds each term's bit (scouting.vocab.TAG_BITS); a term added later needs a migration inserting its row.

Revision ID: 0010
Revises: 0009
"""
import uuid

import sqlalchemy as sa
from alembic import op

from scouting.db import MASK_COLUMNS, drop_search_trigger_ddl, recompute_masks_sql, search_trigger_ddl
from scouting.vocab import TAG_BITS

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    for column in MASK_COLUMNS:
        op.add_column("sites", sa.Column(column, sa.BigInteger(), nullable=False, server_default="0"))
    tag_bits = op.create_table(
        "tag_bits",
        sa.Column("vocabulary", sa.String(16), primary_key=True),
        sa.Column("term", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(tag_bits, [{"vocabulary": vocabulary, "term": term, "value": 1 << bit}
                              for vocabulary, bits in TAG_BITS.items() for term, bit in bits.items()])
    data_version = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), sa.CheckConstraint("id = 1"), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(data_version, [{"id": 1, "generation": uuid.uuid4().hex, "version": 1}])
    op.execute(recompute_masks_sql())
    for statement in search_trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in drop_search_trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("data_version")
    op.drop_table("tag_bits")
    for column in reversed(MASK_COLUMNS):
        op.drop_column("sites", column)
