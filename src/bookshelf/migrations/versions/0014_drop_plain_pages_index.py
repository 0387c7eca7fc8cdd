"""books: drop the index on (pages_num, id), which no query uses since pages sort as
coalesce(pages_num, 0)

Revision ID: 0014_drop_plain_pages_index
Revises: 0013_search_recent_brin
Create Date: 2026-11-29
"""

from alembic import op

revision = "0014_drop_plain_pages_index"
down_revision = "0013_search_recent_brin"
branch_labels = None
depends_on = None

# Sorting by pages reads ix_books_pages_sort_id (unknown counts sort as 0); nothing filters
# or sorts on the bare column any more, and an unused index still costs every insert and
# update, and every seed its rebuild.


def upgrade() -> None:
    op.drop_index("ix_books_pages_num_id", table_name="books")


def downgrade() -> None:
    op.create_index("ix_books_pages_num_id", "books", ["pages_num", "id"])
