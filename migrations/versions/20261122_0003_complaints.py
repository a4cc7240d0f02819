"""Complaints: products, batches, distributions, number counters, complaints and their replies,
customer responses and reminders.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Reviewed by hand. On PostgreSQL every new table refuses writes without the application's
attribution, as the tables of 0002 do. Complaints are never deleted (void is a state).
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
NEW_TABLES = ("products", "batches", "distributions", "number_counters", "complaints", "complaint_batches",
              "complaint_replies", "customer_responses", "customer_reminders")


def upgrade() -> None:
    op.create_table('number_counters',
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('next_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_number_counters'))
    )
    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('strength', sa.String(length=100), nullable=False),
    sa.Column('dosage_form', sa.String(length=100), nullable=False),
    sa.Column('has_expiry', sa.Boolean(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('code', name=op.f('uq_products_code'))
    )
    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('batch_no', sa.String(length=64), nullable=False),
    sa.Column('manufactured_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TS, nullable=False),
    sa.CheckConstraint('expires_on IS NULL OR expires_on > manufactured_on', name=op.f('ck_batches_expiry_after_manufacture')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_batches_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches')),
    sa.UniqueConstraint('product_id', 'batch_no', name='uq_batches_product_batch_no')
    )
    op.create_index(op.f('ix_batches_product_id'), 'batches', ['product_id'], unique=False)

    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intake_ref', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=True),
    sa.Column('original_class', sa.String(length=3), nullable=True),
    sa.Column('complaint_class', sa.String(length=3), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('complainant_name', sa.Text(), nullable=True),
    sa.Column('complainant_organisation', sa.String(length=200), nullable=True),
    sa.Column('complainant_phone', sa.Text(), nullable=True),
    sa.Column('complainant_email', sa.Text(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('batch_unknown_reason', sa.Text(), nullable=True),
    sa.Column('complaint_type', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('sample_available', sa.Boolean(), nullable=False),
    sa.Column('written_confirmation_requested', sa.Boolean(), nullable=False),
    sa.Column('customer_due_on', sa.Date(), nullable=True),
    sa.Column('retention_until', sa.Date(), nullable=False),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.Column('acknowledgement_method', sa.String(length=32), nullable=True),
    sa.Column('acknowledgement_note', sa.Text(), nullable=True),
    sa.Column('information_complete', sa.Boolean(), nullable=True),
    sa.Column('substantiated', sa.Boolean(), nullable=True),
    sa.Column('validity_reason', sa.Text(), nullable=True),
    sa.Column('validity_on', sa.Date(), nullable=True),
    sa.Column('class_rationale', sa.Text(), nullable=True),
    sa.Column('adr_suspected', sa.Boolean(), nullable=True),
    sa.Column('classified_on', sa.Date(), nullable=True),
    sa.Column('criteria_version', sa.String(length=16), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('impact', sa.Text(), nullable=True),
    sa.Column('other_batches_affected', sa.Text(), nullable=True),
    sa.Column('investigation_substantiated', sa.Boolean(), nullable=True),
    sa.Column('investigated_on', sa.Date(), nullable=True),
    sa.Column('reasonable', sa.Boolean(), nullable=True),
    sa.Column('actions', sa.Text(), nullable=True),
    sa.Column('adr_confirmed', sa.Boolean(), nullable=True),
    sa.Column('regulator_report_required', sa.Boolean(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TS, nullable=False),
    sa.CheckConstraint("complaint_class IS NULL OR complaint_class IN ('I', 'II', 'III')", name=op.f('ck_complaints_class_known')),
    sa.CheckConstraint("original_class IS NULL OR original_class IN ('I', 'II', 'III')", name=op.f('ck_complaints_original_class_known')),
    sa.CheckConstraint("status IN ('registered', 'under_investigation', 'assessed', 'awaiting_customer', 'closure_pending', 'closed', 'void')", name=op.f('ck_complaints_status_known')),
    sa.CheckConstraint('(number IS NULL) = (complaint_class IS NULL)', name=op.f('ck_complaints_numbered_iff_classified')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_complaints_product_id_products')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_complaints_received_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('intake_ref', name=op.f('uq_complaints_intake_ref')),
    sa.UniqueConstraint('number', name=op.f('uq_complaints_number'))
    )
    op.create_index(op.f('ix_complaints_complaint_class'), 'complaints', ['complaint_class'], unique=False)
    op.create_index(op.f('ix_complaints_product_id'), 'complaints', ['product_id'], unique=False)
    op.create_index(op.f('ix_complaints_received_on'), 'complaints', ['received_on'], unique=False)
    op.create_index(op.f('ix_complaints_status'), 'complaints', ['status'], unique=False)

    op.create_table('complaint_batches',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_complaint_batches_batch_id_batches')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_batches_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('complaint_id', 'batch_id', name=op.f('pk_complaint_batches'))
    )
    op.create_index(op.f('ix_complaint_batches_batch_id'), 'complaint_batches', ['batch_id'], unique=False)

    op.create_table('complaint_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('replied_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', UTC_TS, nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_replies_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_replies')),
    sa.UniqueConstraint('complaint_id', 'sequence', name='uq_complaint_replies_sequence')
    )
    op.create_index(op.f('ix_complaint_replies_complaint_id'), 'complaint_replies', ['complaint_id'], unique=False)

    op.create_table('distributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('consignee', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('shipped_on', sa.Date(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TS, nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_distributions_quantity_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_distributions_batch_id_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distributions'))
    )
    op.create_index(op.f('ix_distributions_batch_id'), 'distributions', ['batch_id'], unique=False)

    op.create_table('customer_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('reply_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('by_system', sa.Boolean(), nullable=False),
    sa.Column('letter_text', sa.Text(), nullable=False),
    sa.Column('created_at', UTC_TS, nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_customer_reminders_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['reply_id'], ['complaint_replies.id'], name=op.f('fk_customer_reminders_reply_id_complaint_replies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_reminders')),
    sa.UniqueConstraint('reply_id', name='uq_customer_reminders_reply_id')
    )
    op.create_index(op.f('ix_customer_reminders_complaint_id'), 'customer_reminders', ['complaint_id'], unique=False)

    op.create_table('customer_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('reply_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('satisfied', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', UTC_TS, nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_customer_responses_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['reply_id'], ['complaint_replies.id'], name=op.f('fk_customer_responses_reply_id_complaint_replies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_responses'))
    )
    op.create_index(op.f('ix_customer_responses_complaint_id'), 'customer_responses', ['complaint_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
        op.execute("""
            CREATE FUNCTION gmp_complaints_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'complaints are voided, never deleted';
                END IF;
                IF NEW.intake_ref IS DISTINCT FROM OLD.intake_ref
                   OR (OLD.number IS NOT NULL AND NEW.number IS DISTINCT FROM OLD.number)
                   OR NEW.description IS DISTINCT FROM OLD.description THEN
                    RAISE EXCEPTION 'the intake reference, the number and the description as received never change';
                END IF;
                RETURN NEW;
            END $$
        """)
        op.execute("CREATE TRIGGER complaints_guard BEFORE UPDATE OR DELETE ON complaints "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_complaints_guard()")
        op.execute("ALTER TABLE complaints ENABLE ALWAYS TRIGGER complaints_guard")
    else:
        op.execute("CREATE TRIGGER complaints_no_delete BEFORE DELETE ON complaints "
                   "BEGIN SELECT RAISE(ABORT, 'complaints are voided, never deleted'); END")
        op.execute("CREATE TRIGGER complaints_fixed_fields BEFORE UPDATE ON complaints "
                   "WHEN NEW.intake_ref IS NOT OLD.intake_ref "
                   "OR (OLD.number IS NOT NULL AND NEW.number IS NOT OLD.number) "
                   "OR NEW.description IS NOT OLD.description "
                   "BEGIN SELECT RAISE(ABORT, 'the intake reference, the number and the description as received never change'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER complaints_guard ON complaints")
        op.execute("DROP FUNCTION gmp_complaints_guard()")
    op.drop_index(op.f('ix_customer_responses_complaint_id'), table_name='customer_responses')

    op.drop_table('customer_responses')
    op.drop_index(op.f('ix_customer_reminders_complaint_id'), table_name='customer_reminders')

    op.drop_table('customer_reminders')
    op.drop_index(op.f('ix_distributions_batch_id'), table_name='distributions')

    op.drop_table('distributions')
    op.drop_index(op.f('ix_complaint_replies_complaint_id'), table_name='complaint_replies')

    op.drop_table('complaint_replies')
    op.drop_index(op.f('ix_complaint_batches_batch_id'), table_name='complaint_batches')

    op.drop_table('complaint_batches')
    op.drop_index(op.f('ix_complaints_status'), table_name='complaints')
    op.drop_index(op.f('ix_complaints_received_on'), table_name='complaints')
    op.drop_index(op.f('ix_complaints_product_id'), table_name='complaints')
    op.drop_index(op.f('ix_complaints_complaint_class'), table_name='complaints')

    op.drop_table('complaints')
    op.drop_index(op.f('ix_batches_product_id'), table_name='batches')

    op.drop_table('batches')
    op.drop_table('products')
    op.drop_table('number_counters')
