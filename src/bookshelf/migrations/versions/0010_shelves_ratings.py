"""readers' shelves (exclusive shelf with dates, own named shelves) and 1-5 star ratings

Revision ID: 0010_shelves_ratings
Revises: 0009_catalogue_count_autoincrement
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from bookshelf.search.schema import SQLITE_STEMMED_UPDATE_TRIGGER

revision = "0010_shelves_ratings"
down_revision = "0009_catalogue_count_autoincrement"
branch_labels = None
depends_on = None

# A book's rating columns follow its `ratings` rows. Triggers rather than application code:
# rows removed by a cascade (a deleted account) must be counted out as well.
SQLITE_RATING_TRIGGERS = [
    """CREATE TRIGGER ratings_stats_insert AFTER INSERT ON ratings BEGIN
        UPDATE books SET rating_count = rating_count + 1,
            rating_sum = rating_sum + new.stars,
            rating_avg = (rating_sum + new.stars) * 1.0 / (rating_count + 1)
        WHERE id = new.book_id;
    END""",
    """CREATE TRIGGER ratings_stats_update AFTER UPDATE OF stars ON ratings
    WHEN old.stars <> new.stars BEGIN
        UPDATE books SET rating_sum = rating_sum - old.stars + new.stars,
            rating_avg = (rating_sum - old.stars + new.stars) * 1.0 / rating_count
        WHERE id = new.book_id;
    END""",
    """CREATE TRIGGER ratings_stats_delete AFTER DELETE ON ratings BEGIN
        UPDATE books SET rating_count = rating_count - 1,
            rating_sum = rating_sum - old.stars,
            rating_avg = CASE WHEN rating_count = 1 THEN 0
                ELSE (rating_sum - old.stars) * 1.0 / (rating_count - 1) END
        WHERE id = old.book_id;
    END""",
]
SQLITE_RATING_TRIGGERS_DROP = [
    "DROP TRIGGER IF EXISTS ratings_stats_insert",
    "DROP TRIGGER IF EXISTS ratings_stats_update",
    "DROP TRIGGER IF EXISTS ratings_stats_delete",
]
# Row locks make the increments safe under concurrent ratings of one book.
PG_RATING_TRIGGERS = [
    """CREATE FUNCTION ratings_stats() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        count_change integer := 0;
        sum_change integer := 0;
        target integer;
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            count_change := 1;
            sum_change := NEW.stars;
            target := NEW.book_id;
        END IF;
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            count_change := count_change - 1;
            sum_change := sum_change - OLD.stars;
            target := OLD.book_id;
        END IF;
        UPDATE books SET rating_count = rating_count + count_change,
            rating_sum = rating_sum + sum_change,
            rating_avg = CASE WHEN rating_count + count_change = 0 THEN 0
                ELSE (rating_sum + sum_change)::double precision
                    / (rating_count + count_change) END
        WHERE id = target;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ratings_stats_change AFTER INSERT OR DELETE OR UPDATE OF stars
        ON ratings FOR EACH ROW EXECUTE FUNCTION ratings_stats()""",
]
PG_RATING_TRIGGERS_DROP = [
    "DROP TRIGGER IF EXISTS ratings_stats_change ON ratings",
    "DROP FUNCTION IF EXISTS ratings_stats()",
]


def upgrade() -> None:
    add_rating_columns()
    create_shelves()
    create_ratings()
    if op.get_bind().dialect.name == "postgresql":
        statements = PG_RATING_TRIGGERS
    else:
        # The full-text update trigger fired on any column; from now on ratings update books
        # often, so it watches only the columns the index is made of.
        statements = [
            "DROP TRIGGER IF EXISTS books_fts_update",
            SQLITE_STEMMED_UPDATE_TRIGGER,
            *SQLITE_RATING_TRIGGERS,
        ]
    for statement in statements:
        op.execute(statement)


def add_rating_columns() -> None:
    # Plain ADD COLUMN with constant defaults: a batch rebuild of `books` on SQLite would drop
    # its full-text triggers. rating_avg is 0 while a book has no rating (sorted last).
    op.add_column(
        "books", sa.Column("rating_count", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "books", sa.Column("rating_sum", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("books", sa.Column("rating_avg", sa.Float(), nullable=False, server_default="0"))
    op.create_index("ix_books_rating_avg_id", "books", ["rating_avg", "id"])


def create_shelves() -> None:
    op.create_table(
        "shelf_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "book_id", sa.Integer(), sa.ForeignKey("books.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("shelf", sa.String(8), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("finished_on", sa.Date(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        # A book is on at most one of a reader's exclusive shelves.
        sa.UniqueConstraint("user_id", "book_id", name="uq_shelf_entries_user_book"),
        sa.CheckConstraint("shelf IN ('want', 'reading', 'read')", name="ck_shelf_entries_shelf"),
        sa.CheckConstraint(
            "finished_on IS NULL OR started_on IS NULL OR finished_on >= started_on",
            name="ck_shelf_entries_dates_in_order",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_shelf_entries_user_shelf", "shelf_entries", ["user_id", "shelf", "id"])
    op.create_index("ix_shelf_entries_book_id", "shelf_entries", ["book_id"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.UniqueConstraint("user_id", "name_key", name="uq_tags_user_name_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "shelf_entry_tags",
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("shelf_entries.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "tag_id", sa.Integer(), sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_shelf_entry_tags_tag_id", "shelf_entry_tags", ["tag_id"])


def create_ratings() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "book_id", sa.Integer(), sa.ForeignKey("books.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("stars", sa.SmallInteger(), nullable=False),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "book_id", name="uq_ratings_user_book"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars_1_to_5"),
        sa.CheckConstraint(
            "review IS NULL OR length(review) <= 2000", name="ck_ratings_review_length"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ratings_book_id", "ratings", ["book_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        statements = PG_RATING_TRIGGERS_DROP
    else:
        statements = SQLITE_RATING_TRIGGERS_DROP
    for statement in statements:
        op.execute(statement)
    op.drop_table("ratings")
    op.drop_table("shelf_entry_tags")
    op.drop_table("tags")
    op.drop_table("shelf_entries")
    op.drop_index("ix_books_rating_avg_id", table_name="books")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would lose the full-text triggers.
    op.drop_column("books", "rating_avg")
    op.drop_column("books", "rating_sum")
    op.drop_column("books", "rating_count")
