"""review rounds, review claims and adjudication

Annotations and reviews gain a `revision` (a review judges one submitted revision),
reviews store the difference a correction made, reviewers claim queue entries, and
leads' adjudications of contradictory items get their own table.

No table is rebuilt, on purpose: a batch rebuild on SQLite drops the old table, and with
foreign keys on, dropping `annotations` cascades into `reviews` and deletes every review.
Columns are added in place (a constant server default keeps SQLite's ADD COLUMN possible),
`recreate="never"` makes Alembic refuse rather than rebuild, the one-decision rule is a
unique index (created in place), and the downgrade uses SQLite's native DROP COLUMN.

0001 allowed two reviews of one submission at one level (two reviewers deciding at once, or
a second review after a resubmission, which 0001 did not number); the unique index allows
one per revision, and every 0001 submission becomes revision 1. So, per (annotation, level),
the latest review (by created_at, then id) is the decision that stands and stays; the earlier
ones move, whole, into the setting `superseded_reviews_0002` (a JSON list of their rows) for
a lead to read: no reviewer's work is lost, even on PostgreSQL, where no backup file is made.
The downgrade leaves that setting as it is; a later upgrade adds to it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ARCHIVE_KEY = 'superseded_reviews_0002'

reviews = sa.table('reviews',
    sa.column('id', sa.Integer()), sa.column('annotation_id', sa.Integer()), sa.column('reviewer_id', sa.Integer()),
    sa.column('level', sa.Integer()), sa.column('decision', sa.String()), sa.column('reason', sa.Text()),
    sa.column('correction', Document), sa.column('created_at'))  # untyped: whatever text SQLite holds is kept as it is
settings = sa.table('settings', sa.column('key', sa.String()), sa.column('value', Document))


def _superseded_reviews() -> list[dict]:
    """Every review with a later one of the same submission at the same level, as JSON-ready rows."""
    ranked = sa.select(reviews.c.id, sa.func.row_number().over(
        partition_by=(reviews.c.annotation_id, reviews.c.level),
        order_by=(reviews.c.created_at.desc(), reviews.c.id.desc()),
    ).label('rank')).subquery()
    query = (sa.select(reviews).where(reviews.c.id.in_(sa.select(ranked.c.id).where(ranked.c.rank > 1)))
             .order_by(reviews.c.id))
    return [{**row, 'created_at': _json_ready(row['created_at'])} for row in op.get_bind().execute(query).mappings()]


def _json_ready(created_at: object) -> object:
    return created_at.isoformat() if isinstance(created_at, datetime) else created_at  # PostgreSQL's; SQLite's is text


def _archive_superseded_reviews() -> None:
    rows = _superseded_reviews()
    if not rows:
        return
    bind = op.get_bind()
    archived = bind.execute(sa.select(settings.c.value).where(settings.c.key == ARCHIVE_KEY)).scalar()
    if archived is None:
        bind.execute(settings.insert().values(key=ARCHIVE_KEY, value=rows))
    else:  # upgraded before, downgraded, reviewed twice again
        bind.execute(settings.update().where(settings.c.key == ARCHIVE_KEY).values(value=[*archived, *rows]))
    bind.execute(reviews.delete().where(reviews.c.id.in_([row['id'] for row in rows])))


def upgrade() -> None:
    # server_default fills the rows already there: every existing submission is revision 1.
    with op.batch_alter_table('annotations', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('reviews', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('changes', Document, nullable=True))
    _archive_superseded_reviews()
    with op.batch_alter_table('reviews', schema=None, recreate='never') as batch_op:
        batch_op.create_index('ix_reviews_decided_once', ['annotation_id', 'level', 'revision'], unique=True)

    op.create_table('review_claims',
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_review_claims_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_claims_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('annotation_id', 'level', name=op.f('pk_review_claims'))
    )
    op.create_table('adjudications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('values', Document, nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('agreement', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_adjudications_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_adjudications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjudications')),
    sa.UniqueConstraint('item_id', name=op.f('uq_adjudications_item_id'))
    )


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')  # native since SQLite 3.35: no rebuild
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    op.drop_table('adjudications')
    op.drop_table('review_claims')
    op.drop_index('ix_reviews_decided_once', table_name='reviews')
    _drop_column('reviews', 'changes')
    _drop_column('reviews', 'revision')
    _drop_column('annotations', 'revision')
