"""Tables of the application. The schema itself only ever comes from the Alembic migrations;
a test checks that these models and the migrations agree."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from audit.tracking import audited
from gmp_complaints.db import Base, UTCDateTime
from gmp_complaints.domain.adr import ClockRule, Seriousness
from gmp_complaints.domain.complaint_file import FileItem
from gmp_complaints.domain.grading import Severity
from gmp_complaints.domain.investigation import RootCauseCategory
from gmp_complaints.domain.returns import ReturnChannel
from gmp_complaints.domain.roles import Role
from gmp_complaints.domain.triage import Answer, RoutedTo

ROLE_KEYS = tuple(role.value for role in Role)


@audited("user", excluded={"password_hash"})
class User(Base):
    """An individual account. Never deleted, never renamed (21 CFR 11.100(a), 11.300(a))."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "(is_active AND deactivated_at IS NULL) OR (NOT is_active AND deactivated_at IS NOT NULL)",
            name="deactivated_at_iff_inactive",
        ),
        sa.CheckConstraint("failed_login_count >= 0", name="failed_login_count_not_negative"),
        sa.CheckConstraint("account_type IN ('person', 'service')", name="account_type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    password_is_temporary: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    temporary_password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_login_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identity_verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    esignature_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: where the person's notices are e-mailed (through the outbox, where mail is configured)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    #: demo accounts (``gmp demo``) are marked and exempt from password expiry
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: SEC-01: ``person`` (an individual) or ``service`` (a system integration: master data through the API only,
    #: no web log-in, no role, no signature); fixed at creation
    account_type: Mapped[str] = mapped_column(sa.String(16), default="person", server_default="person")

    role_rows: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(row.role) for row in self.role_rows)

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def is_service(self) -> bool:
        return self.account_type == "service"


@audited("user", owner_id=lambda row: row.user_id, owner_field="roles", owner_value=lambda row: row.role)
class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(ROLE_KEYS), name="role_known"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class PasswordHistory(Base):
    """Earlier password hashes, for the 'not one of the last N' rule."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: logout, password_changed, deactivated, replaced
    end_reason: Mapped[str | None] = mapped_column(sa.String(32))
    source_ip: Mapped[str | None] = mapped_column(sa.String(64))


class ApiToken(Base):
    """A bearer token for /api/v1. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: password_changed, password_reset, deactivated, unlocked
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(32))
    #: the last request made with it (to 30 seconds): unused for the idle limit, it is refused
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed password checks counted per user name attempted, known or not, and per source address (issue 19):
    ``name_source`` (a name from one address) and ``name`` (a name from everywhere) count consecutive failures and
    carry the lock; ``source`` (an address, any name) counts failures within a window for the rate limit. Not a
    GMP record: each failure is audited on its own (``user.login_failed``)."""

    __tablename__ = "login_throttles"
    __table_args__ = (
        sa.UniqueConstraint("scope", "name", "source"),
        sa.CheckConstraint("scope IN ('name_source', 'name', 'source')", name="scope_known"),
        sa.CheckConstraint("failure_count >= 0", name="failure_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    #: the user name attempted, normalised ('' for ``source``)
    name: Mapped[str] = mapped_column(sa.String(64))
    #: the source address ('' for ``name``, or where none is known)
    source: Mapped[str] = mapped_column(sa.String(64))
    failure_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: the first failure counted (for ``source``: the start of the window)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- master data (from the ERP: CSV import or the API) ----------------------------------------


@audited("product")
class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    strength: Mapped[str] = mapped_column(sa.String(100))
    dosage_form: Mapped[str] = mapped_column(sa.String(100))
    #: OTC products without expiry dating keep complaint records 3 years after last distribution
    has_expiry: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: where it is marketed: country codes (and EU for a centrally authorised product), space-separated
    markets: Mapped[str] = mapped_column(sa.String(200), default="CN", server_default="CN")
    #: the marketing authorisation holder when that is not this site (it is told of quality defects)
    marketing_authorisation_holder: Mapped[str | None] = mapped_column(sa.String(200))
    #: the contract giver or contract manufacturer (HO-14), told of every complaint on the product
    contract_partner: Mapped[str | None] = mapped_column(sa.String(200))
    #: the partner's contact for quality defects and recalls (name, phone, e-mail)
    partner_quality_contact: Mapped[str | None] = mapped_column(sa.String(300))
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("batch")
class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "batch_no", name="uq_batches_product_batch_no"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on > manufactured_on", name="expiry_after_manufacture"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    batch_no: Mapped[str] = mapped_column(sa.String(64))
    manufactured_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)
    #: release / QP certification date
    released_on: Mapped[date | None] = mapped_column(sa.Date)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("distribution")
class Distribution(Base):
    __tablename__ = "distributions"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"), index=True)
    consignee: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    shipped_on: Mapped[date] = mapped_column(sa.Date, index=True)
    #: how the consignee is reached in a recall (EU GMP 8.22, 8.23: exports, medical samples, out of hours)
    address: Mapped[str | None] = mapped_column(sa.Text)
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(64))
    #: where the recall notice is e-mailed (through the outbox, where mail is configured)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    out_of_hours_contact: Mapped[str | None] = mapped_column(sa.String(200))
    is_export: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    is_medical_sample: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NumberCounter(Base):
    """Next serial per numbering scope (``TS:I-26``, ``R:2026``). Gapless: taken under a row lock in
    the transaction that uses the number, so a rollback gives it back."""

    __tablename__ = "number_counters"

    scope: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    next_serial: Mapped[int] = mapped_column(sa.Integer)


# --- complaints ----------------------------------------------------------------------------------

ROOT_CAUSE_CATEGORIES = tuple(c.value for c in RootCauseCategory)
TRIAGE_ANSWERS = tuple(answer.value for answer in Answer)
ROUTING_GROUPS = tuple(group.value for group in RoutedTo)
SEVERITIES = tuple(severity.value for severity in Severity)
COMPLAINT_STATUSES = ("registered", "under_investigation", "assessed", "awaiting_customer", "closure_pending",
                      "closed", "void")


@audited("complaint", excluded={"complainant_name", "complainant_phone", "complainant_email"})
class Complaint(Base):
    """One customer quality complaint (SOP §5). Personal data columns hold ciphertext."""

    __tablename__ = "complaints"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(COMPLAINT_STATUSES), name="status_known"),
        sa.CheckConstraint("(number IS NULL) = (complaint_class IS NULL)", name="numbered_iff_classified"),
        sa.CheckConstraint("complaint_class IS NULL OR complaint_class IN ('I', 'II', 'III')", name="class_known"),
        sa.CheckConstraint("original_class IS NULL OR original_class IN ('I', 'II', 'III')", name="original_class_known"),
        # WF-04: the Field-Alert screen's two criteria are given together, and the screen is "either is met"
        sa.CheckConstraint("(field_alert_mix_up IS NULL AND field_alert_quality_defect IS NULL) OR "
                           "(field_alert_mix_up IS NOT NULL AND field_alert_quality_defect IS NOT NULL AND "
                           "field_alert_screen = (field_alert_mix_up OR field_alert_quality_defect))",
                           name="field_alert_criteria_agree"),
        sa.CheckConstraint(sa.column("root_cause_category").is_(None)
                           | sa.column("root_cause_category").in_(ROOT_CAUSE_CATEGORIES),
                           name="root_cause_category_known"),
        # REC-14 (EU GMP 8.17): human error only with its justification and the other causes examined
        sa.CheckConstraint("root_cause_category IS NULL OR root_cause_category <> 'human_error' OR "
                           "(human_error_justification IS NOT NULL AND causes_examined_process IS TRUE AND "
                           "causes_examined_procedure IS TRUE AND causes_examined_system IS TRUE)",
                           name="human_error_justified"),
        sa.CheckConstraint(sa.column("quality_defect_suspected").is_(None)
                           | sa.column("quality_defect_suspected").in_(TRIAGE_ANSWERS),
                           name="quality_defect_answer_known"),
        sa.CheckConstraint(sa.column("falsification_suspected").is_(None)
                           | sa.column("falsification_suspected").in_(TRIAGE_ANSWERS),
                           name="falsification_answer_known"),
        sa.CheckConstraint(sa.column("routed_to").is_(None) | sa.column("routed_to").in_(ROUTING_GROUPS),
                           name="routed_to_known"),
        sa.CheckConstraint("(spec_determined_at IS NULL) = (spec_investigation_required IS NULL)",
                           name="spec_determination_complete"),
        # REC-08: the severity on its fixed scale; each extent a count (0 or more) or unknown, never both
        sa.CheckConstraint(sa.column("severity").is_(None) | sa.column("severity").in_(SEVERITIES),
                           name="severity_known"),
        sa.CheckConstraint("units_affected IS NULL OR units_affected >= 0", name="units_affected_counted"),
        sa.CheckConstraint("units_affected IS NULL OR units_affected_unknown IS NOT TRUE",
                           name="units_affected_number_or_unknown"),
        sa.CheckConstraint("batches_affected IS NULL OR batches_affected >= 0", name="batches_affected_counted"),
        sa.CheckConstraint("batches_affected IS NULL OR batches_affected_unknown IS NOT TRUE",
                           name="batches_affected_number_or_unknown"),
        # REC-11: the decision to extend the investigation to other batches or products stands with its rationale
        sa.CheckConstraint("extend_to_other_batches IS NULL OR extension_rationale IS NOT NULL",
                           name="extension_decision_reasoned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_ref: Mapped[str] = mapped_column(sa.String(16), unique=True)
    number: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    original_class: Mapped[str | None] = mapped_column(sa.String(3))
    complaint_class: Mapped[str | None] = mapped_column(sa.String(3), index=True)
    status: Mapped[str] = mapped_column(sa.String(24), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    received_on: Mapped[date] = mapped_column(sa.Date, index=True)
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    complainant_name: Mapped[str | None] = mapped_column(sa.Text)
    complainant_organisation: Mapped[str | None] = mapped_column(sa.String(200))
    complainant_phone: Mapped[str | None] = mapped_column(sa.Text)
    complainant_email: Mapped[str | None] = mapped_column(sa.Text)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    batch_unknown_reason: Mapped[str | None] = mapped_column(sa.Text)
    complaint_type: Mapped[str] = mapped_column(sa.String(24))
    #: as received; never edited (REC-03)
    description: Mapped[str] = mapped_column(sa.Text)
    sample_available: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    written_confirmation_requested: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    customer_due_on: Mapped[date | None] = mapped_column(sa.Date)
    retention_until: Mapped[date] = mapped_column(sa.Date)
    # initial feedback (SOP 5.2)
    acknowledged_on: Mapped[date | None] = mapped_column(sa.Date)
    acknowledgement_method: Mapped[str | None] = mapped_column(sa.String(32))
    acknowledgement_note: Mapped[str | None] = mapped_column(sa.Text)
    # validity (SOP 5.3)
    information_complete: Mapped[bool | None] = mapped_column(sa.Boolean)
    substantiated: Mapped[bool | None] = mapped_column(sa.Boolean)
    validity_reason: Mapped[str | None] = mapped_column(sa.Text)
    validity_on: Mapped[date | None] = mapped_column(sa.Date)
    # classification (SOP §3, 5.3)
    class_rationale: Mapped[str | None] = mapped_column(sa.Text)
    adr_suspected: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: the US field-alert screening (21 CFR 314.81(b)(1)), asked at classification for a US-marketed product
    field_alert_screen: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: WF-04: the screen's two criteria where answered one by one: (i) mix-up with another article; (ii)
    #: contamination, significant change or deterioration, or a distributed batch failing its specification
    field_alert_mix_up: Mapped[bool | None] = mapped_column(sa.Boolean)
    field_alert_quality_defect: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: US products (WF-03): a suspected reaction triaged as serious or not, unexpected or not
    adr_serious: Mapped[bool | None] = mapped_column(sa.Boolean)
    adr_unexpected: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: TR-02: the investigator's answer whether the problem recurs
    recurring_problem: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: the time of day it came in (HH:MM, site time), where recorded
    received_time: Mapped[str | None] = mapped_column(sa.String(5))
    #: class I: what the interim risk decision decides (space-separated measures, signed with it)
    interim_measures: Mapped[str | None] = mapped_column(sa.String(200))
    #: WF-09: by when the signed interim risk decision is due (set when the complaint becomes class I under
    #: investigation, from the configured working days), and when its second signature completed it
    interim_decision_due_on: Mapped[date | None] = mapped_column(sa.Date)
    interim_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    classified_on: Mapped[date | None] = mapped_column(sa.Date)
    criteria_version: Mapped[str | None] = mapped_column(sa.String(16))
    #: REC-08: the severity of harm (critical / major / minor) and the extent — units, batches (each a count or
    #: unknown) and markets (space-separated codes) affected — as graded at classification or regrading
    severity: Mapped[str | None] = mapped_column(sa.String(16))
    units_affected: Mapped[int | None] = mapped_column(sa.Integer)
    units_affected_unknown: Mapped[bool | None] = mapped_column(sa.Boolean)
    batches_affected: Mapped[int | None] = mapped_column(sa.Integer)
    batches_affected_unknown: Mapped[bool | None] = mapped_column(sa.Boolean)
    markets_affected: Mapped[str | None] = mapped_column(sa.String(200))
    # investigation (SOP 5.4)
    root_cause: Mapped[str | None] = mapped_column(sa.Text)
    impact: Mapped[str | None] = mapped_column(sa.Text)
    other_batches_affected: Mapped[str | None] = mapped_column(sa.Text)
    investigation_substantiated: Mapped[bool | None] = mapped_column(sa.Boolean)
    investigated_on: Mapped[date | None] = mapped_column(sa.Date)
    #: REC-14: the category of the root cause; human error with its justification and the confirmations
    #: that process, procedure and system causes were examined (EU GMP 8.17)
    root_cause_category: Mapped[str | None] = mapped_column(sa.String(24))
    human_error_justification: Mapped[str | None] = mapped_column(sa.Text)
    causes_examined_process: Mapped[bool | None] = mapped_column(sa.Boolean)
    causes_examined_procedure: Mapped[bool | None] = mapped_column(sa.Boolean)
    causes_examined_system: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: REC-11 (21 CFR 211.192): does the investigation extend to other batches or products, why, and to which
    #: (canonical JSON lists: batch numbers of the same product, codes of other products)
    extend_to_other_batches: Mapped[bool | None] = mapped_column(sa.Boolean)
    extension_rationale: Mapped[str | None] = mapped_column(sa.Text)
    extension_batch_nos: Mapped[str | None] = mapped_column(sa.Text)
    extension_product_codes: Mapped[str | None] = mapped_column(sa.Text)
    # assessment (SOP 5.5)
    reasonable: Mapped[bool | None] = mapped_column(sa.Boolean)
    actions: Mapped[str | None] = mapped_column(sa.Text)  # space-separated action keys
    adr_confirmed: Mapped[bool | None] = mapped_column(sa.Boolean)
    regulator_report_required: Mapped[bool | None] = mapped_column(sa.Boolean)
    assessed_on: Mapped[date | None] = mapped_column(sa.Date)
    #: space-separated codes of the class criteria (SOP §3, version ``criteria_version``) that apply
    class_criteria: Mapped[str | None] = mapped_column(sa.Text)
    #: canonical JSON of the SOP 5.4.1-5.4.6 checklist: item -> {outcome, note}
    investigation_checklist: Mapped[str | None] = mapped_column(sa.Text)
    #: the QA officer who administers the complaint, and the investigator assigned (never sales)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    investigator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    #: a customer response after closure opens a linked follow-up; the closed record stays as it was
    follow_up_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    #: content version: bumped by every recorded step, so signatures can bind to one
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    #: read-only: ``product_id`` is what is written; loading the product with the complaint keeps it at hand
    product: Mapped["Product"] = relationship(viewonly=True, lazy="select")
    batch_links: Mapped[list["ComplaintBatch"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ComplaintBatch.batch_id")
    replies: Mapped[list["ComplaintReply"]] = relationship(lazy="selectin", order_by="ComplaintReply.sequence")
    reply_reports: Mapped[list["ReplyReport"]] = relationship(lazy="selectin", order_by="ReplyReport.id")
    legal_holds: Mapped[list["LegalHold"]] = relationship(lazy="selectin", order_by="LegalHold.id")
    #: set by the signed disposal after the retention date: the content is gone, the tombstone stays
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: brought in from a previous ledger (RET-05): the import that did it
    legacy_import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("legacy_imports.id"))
    #: entered after an outage from the paper form (RET-07): its reference, and why it was entered late
    paper_reference: Mapped[str | None] = mapped_column(sa.String(64))
    entered_late_reason: Mapped[str | None] = mapped_column(sa.Text)
    # triage at the validity step (SOP 5.3; REC-09): yes / no / unknown, and where a complaint that is not a
    # quality defect was routed
    quality_defect_suspected: Mapped[str | None] = mapped_column(sa.String(8))
    falsification_suspected: Mapped[str | None] = mapped_column(sa.String(8))
    routed_to: Mapped[str | None] = mapped_column(sa.String(32))
    routing_note: Mapped[str | None] = mapped_column(sa.Text)
    #: WF-02: possible failure to meet specification; the head of quality's signed determination whether a
    #: 21 CFR 211.192 investigation is required, with its rationale
    spec_failure_suspected: Mapped[bool | None] = mapped_column(sa.Boolean)
    spec_investigation_required: Mapped[bool | None] = mapped_column(sa.Boolean)
    spec_determination_rationale: Mapped[str | None] = mapped_column(sa.Text)
    spec_determined_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    spec_determined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: REC-02: items of the complaint file marked "not known", each with its reason
    not_known_items: Mapped[list["NotKnownItem"]] = relationship(lazy="selectin", order_by="NotKnownItem.id")
    responses: Mapped[list["CustomerResponse"]] = relationship(lazy="selectin", order_by="CustomerResponse.id")
    reminders: Mapped[list["CustomerReminder"]] = relationship(lazy="selectin", order_by="CustomerReminder.id")
    extensions: Mapped[list["DeadlineExtension"]] = relationship(lazy="selectin", order_by="DeadlineExtension.id")
    void_requests: Mapped[list["VoidRequest"]] = relationship(lazy="selectin", order_by="VoidRequest.id")
    quarantine_requests: Mapped[list["QuarantineRequest"]] = relationship(
        lazy="selectin", order_by="QuarantineRequest.id")
    #: WF-05: working-day due dates as calculated, kept when the calendar they were calculated on changed
    kept_due_dates: Mapped[list["KeptDueDate"]] = relationship(lazy="selectin", order_by="KeptDueDate.kind")


@audited("complaint", owner_id=lambda row: row.complaint_id, owner_field="batch_ids", owner_value=lambda row: row.batch_id)
class ComplaintBatch(Base):
    __tablename__ = "complaint_batches"

    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"), primary_key=True, index=True)
    #: read-only, like ``Complaint.product``
    batch: Mapped["Batch"] = relationship(viewonly=True, lazy="select")


@audited("complaint_reply")
class ComplaintReply(Base):
    """The formal reply (答复报告) and the supplementary ones after a challenge (SOP 5.6)."""

    __tablename__ = "complaint_replies"
    __table_args__ = (sa.UniqueConstraint("complaint_id", "sequence", name="uq_complaint_replies_sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    #: 1 = formal reply, 2 = second (first supplementary), ...
    sequence: Mapped[int] = mapped_column(sa.Integer)
    replied_on: Mapped[date] = mapped_column(sa.Date)
    summary: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the approved reply report this reply sent (SOP 5.6.1), where one was drafted
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reply_reports.id"))
    #: the sales person who sent it to the customer (SOP 5.6.1: 由销售部门负责对客户进行答复)
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    sent_by: Mapped["User | None"] = relationship(lazy="selectin", foreign_keys=[sent_by_id])


@audited("reply_report")
class ReplyReport(Base):
    """The reply report (答复报告) drafted by QA for the next reply: investigation result and CAPA (SOP 5.6.1).
    The head of quality approves it by signature; sales then send it, and the reply records that. A new
    draft for the same reply withdraws the earlier one; nothing is deleted."""

    __tablename__ = "reply_reports"
    __table_args__ = (sa.CheckConstraint("status IN ('draft', 'approved', 'sent', 'withdrawn')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    #: the reply it is for: 1 = formal reply, 2 = first supplementary, ...
    sequence: Mapped[int] = mapped_column(sa.Integer)
    summary: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    drafted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drafted_by: Mapped["User"] = relationship(lazy="selectin", foreign_keys=[drafted_by_id])


@audited("customer_response")
class CustomerResponse(Base):
    __tablename__ = "customer_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    reply_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint_replies.id"))
    received_on: Mapped[date] = mapped_column(sa.Date)
    satisfied: Mapped[bool] = mapped_column(sa.Boolean)
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("follow_up_call")
class FollowUpCall(Base):
    """回访: the customer called back after closure, and how satisfied they are. Never deleted."""

    __tablename__ = "follow_up_calls"
    __table_args__ = (sa.CheckConstraint("result IN ('satisfied', 'partly', 'not_satisfied')", name="result_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    called_on: Mapped[date] = mapped_column(sa.Date)
    called_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    result: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("customer_reminder")
class CustomerReminder(Base):
    """SOP 5.8: the reminder to a customer who has not answered the formal reply."""

    __tablename__ = "customer_reminders"
    __table_args__ = (sa.UniqueConstraint("reply_id", name="uq_customer_reminders_reply_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    reply_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint_replies.id"))
    sent_on: Mapped[date] = mapped_column(sa.Date)
    #: True when `gmp tick` created it (a system action)
    by_system: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    letter_text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- working-day calendars (DESIGN §2 Timers) -------------------------------------------------


@audited("calendar", owner_id=lambda row: row.calendar_code, owner_field="days",
         owner_value=lambda row: f"{row.day.isoformat()}:{row.kind}")
class CalendarDayRow(Base):
    """A day that differs from the plain week: a holiday, or an adjusted working day (调休)."""

    __tablename__ = "calendar_days"
    __table_args__ = (sa.CheckConstraint("kind IN ('holiday', 'adjusted_workday')", name="kind_known"),)

    calendar_code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    name: Mapped[str] = mapped_column(sa.String(100))


@audited("calendar", owner_id=lambda row: row.calendar_code, owner_field="years",
         owner_value=lambda row: f"{row.year}:{row.status}")
class CalendarYearRow(Base):
    """Whether a year's data is the official annual notice or still provisional."""

    __tablename__ = "calendar_years"
    __table_args__ = (sa.CheckConstraint("status IN ('official', 'provisional')", name="status_known"),)

    calendar_code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(sa.String(16))


#: the working-day due dates a complaint keeps (domain.deadlines.DUE_FIELDS and the initial FAR's reminders)
KEPT_DUE_DATE_KINDS = ("initial_feedback", "classification", "investigation", "formal_reply", "reminder",
                       "close_eligible", "field_alert_reminder_1", "field_alert_reminder_2")


def kept_due_date_line(row: "KeptDueDate") -> str:
    """One kept date as the audit trail states it: ``reminder=2026-11-05 (CN 2026-09-24+25)``."""
    return f"{row.kind}={row.due_on.isoformat()} ({row.calendar_code} {row.start_on.isoformat()}+{row.working_days})"


@audited("complaint", owner_id=lambda row: row.complaint_id, owner_field="due_dates",
         owner_value=lambda row: kept_due_date_line(row))
class KeptDueDate(Base):
    """A working-day due date as it was calculated, kept when the calendar it was calculated on changed (WF-05):
    what it counts from (``start_on`` + ``working_days`` of ``calendar_code``) and the date. It is used for as
    long as the complaint's term is the same; only an explicit, audited recalculation moves it. Never deleted."""

    __tablename__ = "kept_due_dates"
    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "kind", name="uq_kept_due_dates_complaint_id_kind"),
        sa.CheckConstraint(sa.column("kind").in_(KEPT_DUE_DATE_KINDS), name="kind_known"),
        sa.CheckConstraint("working_days >= 0", name="working_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    calendar_code: Mapped[str] = mapped_column(sa.String(16))
    start_on: Mapped[date] = mapped_column(sa.Date)
    working_days: Mapped[int] = mapped_column(sa.Integer)
    due_on: Mapped[date] = mapped_column(sa.Date)
    provisional: Mapped[bool] = mapped_column(sa.Boolean)
    #: when it was kept, or last recalculated
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("transfer")
class TransferLog(Base):
    """Every data transfer from the ERP (REC-19): what came in, from where, how many rows, the result."""

    __tablename__ = "transfer_log"
    __table_args__ = (sa.CheckConstraint("result IN ('imported', 'rejected')", name="result_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    source: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    rows_total: Mapped[int] = mapped_column(sa.Integer)
    rows_imported: Mapped[int] = mapped_column(sa.Integer)
    result: Mapped[str] = mapped_column(sa.String(16))
    #: one line per rejected row: "line N: field: message"
    errors: Mapped[str | None] = mapped_column(sa.Text)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("attachment")
class Attachment(Base):
    """A file received or produced for a complaint (photos, spectra, letters). The bytes live in the
    content-addressed store; the SHA-256 binds this record to them (REC-03). Never deleted."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(255))
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str | None] = mapped_column(sa.Text)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- the rest of the complaint process (migration 0007) ----------------------------------------


def criterion_line(code: str, text_zh: str, text_en: str) -> str:
    """How one criterion appears in the audit trail: code and both texts."""
    return f"{code}: {text_zh} / {text_en}"


@audited("class_criteria")
class ClassCriteriaVersion(Base):
    """A published version of the SOP §3 class criteria. Never edited: a change is a new version."""

    __tablename__ = "class_criteria_versions"

    version: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    effective_from: Mapped[date] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    criteria: Mapped[list["ClassCriterion"]] = relationship(lazy="selectin", order_by="ClassCriterion.position")


@audited("class_criteria", owner_id=lambda row: row.version, owner_field="criteria",
         owner_value=lambda row: criterion_line(row.code, row.text_zh, row.text_en))
class ClassCriterion(Base):
    __tablename__ = "class_criteria"
    __table_args__ = (
        sa.CheckConstraint("complaint_class IN ('I', 'II', 'III')", name="class_known"),
        sa.UniqueConstraint("version", "code", name="uq_class_criteria_version_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.ForeignKey("class_criteria_versions.version"))
    complaint_class: Mapped[str] = mapped_column(sa.String(3))
    code: Mapped[str] = mapped_column(sa.String(48))
    position: Mapped[int] = mapped_column(sa.Integer)
    text_zh: Mapped[str] = mapped_column(sa.Text)
    text_en: Mapped[str] = mapped_column(sa.Text)


@audited("configuration", owner_id=lambda row: "time_limits", owner_field="time_limits",
         owner_value=lambda row: f"{row.key}={row.working_days}")
class TimeLimit(Base):
    """A time limit in working days (DESIGN §2 table; SOP 5.8's 25 and 10): configuration, audited."""

    __tablename__ = "time_limits"
    __table_args__ = (sa.CheckConstraint("working_days BETWEEN 1 AND 250", name="working_days_range"),)

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    working_days: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


def signal_setting_line(row: "SignalSetting") -> str:
    """One signal-rule setting as the audit trail states it: ``recurrence_window_days=60``."""
    value = row.value
    return f"{row.key}={int(value) if float(value).is_integer() else value}"


@audited("configuration", owner_id=lambda row: "signal_rules", owner_field="signal_rules",
         owner_value=lambda row: signal_setting_line(row))
class SignalSetting(Base):
    """A trend signal rule's setting that differs from DESIGN's default (domain.trends): audited
    configuration, changed by the QA head with a reason."""

    __tablename__ = "signal_settings"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


@audited("trend_review")
class TrendReview(Base):
    """A signal of the trend rules waiting for, or given, the QA head's evaluation (SOP §7; TR-01): a CAPA
    raised, or a signed statement why none is needed. One per signal and quarter."""

    __tablename__ = "trend_reviews"
    __table_args__ = (
        sa.UniqueConstraint("signal_key", "period_from", "period_to", name="uq_trend_reviews_signal_period"),
        sa.CheckConstraint("status IN ('open', 'capa_raised', 'no_capa')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    signal_key: Mapped[str] = mapped_column(sa.String(120))
    rule: Mapped[str] = mapped_column(sa.String(16))
    product_code: Mapped[str] = mapped_column(sa.String(64))
    complaint_type: Mapped[str | None] = mapped_column(sa.String(24))
    level: Mapped[str] = mapped_column(sa.String(8))
    signal_count: Mapped[int] = mapped_column(sa.Integer)
    period_from: Mapped[date] = mapped_column(sa.Date)
    period_to: Mapped[date] = mapped_column(sa.Date)
    #: the signal as it fired (canonical JSON): its numbers and the complaints behind it
    detail: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    evaluation: Mapped[str | None] = mapped_column(sa.Text)
    capa_id: Mapped[int | None] = mapped_column(sa.ForeignKey("capas.id"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("quarterly_review", excluded={"figures"})
class QuarterlyReview(Base):
    """The quarterly complaint review (SOP §7): the quarter's figures frozen when the complaint
    administrator prepares it (their SHA-256 in the trail), the conclusions, and the QA head's signature."""

    __tablename__ = "quarterly_reviews"
    __table_args__ = (sa.CheckConstraint("status IN ('prepared', 'approved')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(sa.String(8), unique=True)
    period_from: Mapped[date] = mapped_column(sa.Date)
    period_to: Mapped[date] = mapped_column(sa.Date)
    #: the trend report of the quarter as prepared (canonical JSON); the PDF is rendered from it
    figures: Mapped[str] = mapped_column(sa.Text)
    figures_sha256: Mapped[str] = mapped_column(sa.String(64))
    conclusions: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    prepared_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("sent_letter")
class SentLetter(Base):
    """A letter to the customer as sent: the first print of a reply or reminder letter, its bytes in the
    content store under their SHA-256; reprints give this copy (issue 16)."""

    __tablename__ = "sent_letters"
    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "kind", "sequence", "locale", name="uq_sent_letters_letter"),
        sa.CheckConstraint("kind IN ('reply', 'reminder')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    sequence: Mapped[int] = mapped_column(sa.Integer)
    locale: Mapped[str] = mapped_column(sa.String(16))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("deadline_extension")
class DeadlineExtension(Base):
    """SOP §6: a time limit that cannot be met is extended only with a reason and the QA head's approval."""

    __tablename__ = "deadline_extensions"
    __table_args__ = (
        sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status_known"),
        sa.CheckConstraint("new_due_on > due_on_before", name="later"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    due_on_before: Mapped[date] = mapped_column(sa.Date)
    new_due_on: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@audited("void_request")
class VoidRequest(Base):
    """A void needs two people: a QA officer asks with a reason, the head of quality approves or rejects
    it with a signature (four-eyes, SIG-08)."""

    __tablename__ = "void_requests"
    __table_args__ = (sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@audited("quarantine_request")
class QuarantineRequest(Base):
    """SOP 5.4.3: stock of the complained and adjacent batches is quarantined by the warehouse."""

    __tablename__ = "quarantine_requests"
    __table_args__ = (sa.CheckConstraint("status IN ('requested', 'quarantined', 'no_stock')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    requested_on: Mapped[date] = mapped_column(sa.Date)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_on: Mapped[date | None] = mapped_column(sa.Date)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    quantity: Mapped[str | None] = mapped_column(sa.String(64))
    location: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("escalation")
class Escalation(Base):
    """An overdue time limit escalated to the QA head by ``gmp tick`` (once per complaint, kind, due date)."""

    __tablename__ = "escalations"
    __table_args__ = (sa.UniqueConstraint("complaint_id", "kind", "due_on", name="uq_escalations_complaint_kind_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"))
    kind: Mapped[str] = mapped_column(sa.String(24))
    due_on: Mapped[date] = mapped_column(sa.Date)
    escalated_on: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("outbox_message", excluded={"recipient", "body", "attachment"})
class OutboxMessage(Base):
    """An e-mail waiting to be sent (transactional outbox): written in the transaction that decides to
    send it, delivered later, so a mail server being down loses nothing. Recipient and attachment hold
    personal data and are encrypted; the attachment (a recall notice's PDF) is kept after sending as the
    copy of what was sent, with its SHA-256."""

    __tablename__ = "outbox_messages"
    __table_args__ = (sa.CheckConstraint("status IN ('pending', 'sent')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"))
    purpose: Mapped[str] = mapped_column(sa.String(32))
    recipient: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attachment_name: Mapped[str | None] = mapped_column(sa.String(200))
    attachment: Mapped[str | None] = mapped_column(sa.Text)
    attachment_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    #: the recall notice this message carries: it counts as sent when the mail server takes it
    recall_notice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recall_notices.id"), index=True)


class SignatureRow(Base):
    """An electronic signature (21 CFR 11.50, 11.70): append-only; bound to the record version by the
    SHA-256 of its canonical snapshot and by the site's Ed25519 signature over the manifest."""

    __tablename__ = "signatures"
    __table_args__ = (sa.Index("ix_signatures_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(sa.String(32))
    record_id: Mapped[str] = mapped_column(sa.String(32))
    record_number: Mapped[str | None] = mapped_column(sa.String(32))
    record_version: Mapped[int] = mapped_column(sa.Integer)
    record_hash: Mapped[str] = mapped_column(sa.String(64))
    step: Mapped[str] = mapped_column(sa.String(32))
    meaning: Mapped[str] = mapped_column(sa.String(16))
    #: the record inside the complaint a signature approves, e.g. ``deadline_extension:4``
    subject: Mapped[str | None] = mapped_column(sa.String(64))
    signer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    signer_username: Mapped[str] = mapped_column(sa.String(64))
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    signed_role: Mapped[str] = mapped_column(sa.String(16))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    #: for an audit-trail review: the last audit event index the reviewer saw
    audit_index: Mapped[int | None] = mapped_column(sa.Integer)
    manifest: Mapped[str] = mapped_column(sa.Text)
    system_signature: Mapped[str] = mapped_column(sa.String(128))
    key_id: Mapped[str] = mapped_column(sa.String(64))


# --- CAPA (migration 0009) -------------------------------------------------------------------------


@audited("capa", owner_id=lambda row: row.capa_id, owner_field="complaint_ids", owner_value=lambda row: row.complaint_id)
class CapaComplaint(Base):
    __tablename__ = "capa_complaints"

    capa_id: Mapped[int] = mapped_column(sa.ForeignKey("capas.id"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), primary_key=True, index=True)


@audited("capa", owner_id=lambda row: row.capa_id, owner_field="sources",
         owner_value=lambda row: f"{row.source_type}:{row.reference}")
class CapaSourceLink(Base):
    """A source of a CAPA other than a complaint (WF-13): a product rejection, non-conformance, deviation,
    audit, inspection or trend by its reference, a recall of this system, or a CAPA found not effective
    (this CAPA is then its follow-up). Never changed, never removed (migration 0047)."""

    __tablename__ = "capa_sources"
    __table_args__ = (
        sa.CheckConstraint("source_type IN ('product_rejection', 'non_conformance', 'recall', 'deviation', 'audit', "
                           "'inspection', 'trend', 'capa')", name="source_type_known"),
        sa.CheckConstraint("(source_type = 'recall') = (recall_id IS NOT NULL)", name="recall_iff_recall"),
        sa.CheckConstraint("(source_type = 'capa') = (source_capa_id IS NOT NULL)", name="capa_iff_capa"),
        sa.UniqueConstraint("capa_id", "source_type", "reference", name="uq_capa_sources_capa_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    capa_id: Mapped[int] = mapped_column(sa.ForeignKey("capas.id"), index=True)
    source_type: Mapped[str] = mapped_column(sa.String(24))
    #: the source's own reference (DEV-2026-031), or the number of the recall or CAPA of this system
    reference: Mapped[str] = mapped_column(sa.String(100))
    recall_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recalls.id"))
    #: the CAPA found not effective that this CAPA follows up
    source_capa_id: Mapped[int | None] = mapped_column(sa.ForeignKey("capas.id"), index=True)
    linked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("capa")
class Capa(Base):
    """A corrective and preventive action record (SOP 5.7); never deleted."""

    __tablename__ = "capas"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'actions_in_progress', 'implemented', 'effectiveness_check', 'closed')",
                           name="status_known"),
        sa.CheckConstraint("source IN ('complaint', 'product_rejection', 'non_conformance', 'recall', 'deviation', "
                           "'audit', 'inspection', 'trend', 'capa')", name="source_known"),
        sa.CheckConstraint("effectiveness_result IS NULL OR effectiveness_result IN ('effective', 'not_effective')",
                           name="effectiveness_known"),
        # migration 0047 (WF-13, WF-14)
        sa.CheckConstraint("change_control_ref IS NULL OR change_control_required IS TRUE",
                           name="change_control_ref_only_with_change"),
        sa.CheckConstraint("effectiveness_waiver IS NULL OR effectiveness_result IS NULL",
                           name="waiver_only_without_check"),
        sa.CheckConstraint("escalation_reason IS NULL OR effectiveness_result = 'not_effective'",
                           name="escalation_only_not_effective"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    status: Mapped[str] = mapped_column(sa.String(24))
    source: Mapped[str] = mapped_column(sa.String(24))
    problem_statement: Mapped[str] = mapped_column(sa.Text)
    root_cause: Mapped[str] = mapped_column(sa.Text)
    risk: Mapped[str] = mapped_column(sa.Text)
    effectiveness_criteria: Mapped[str] = mapped_column(sa.Text)
    effectiveness_due_on: Mapped[date] = mapped_column(sa.Date)
    effectiveness_result: Mapped[str | None] = mapped_column(sa.String(16))
    effectiveness_evidence: Mapped[str | None] = mapped_column(sa.Text)
    effectiveness_on: Mapped[date | None] = mapped_column(sa.Date)
    #: why the check was made before its due date (signed with it)
    effectiveness_early_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: a CAPA opened because this one's effectiveness check failed points back to it
    follow_up_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("capas.id"))
    #: the plan's answer: does the CAPA change a process, a specification or software? (None: not answered yet)
    change_control_required: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: the change-control record the change is made under (e.g. CC-2026-045), where it changes one
    change_control_ref: Mapped[str | None] = mapped_column(sa.String(64))
    #: the head of quality's signed justification that no effectiveness check is needed (WF-14)
    effectiveness_waiver: Mapped[str | None] = mapped_column(sa.Text)
    #: the head of quality's signed escalation of a result "not effective" (instead of a follow-up CAPA)
    escalation_reason: Mapped[str | None] = mapped_column(sa.Text)
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    complaint_links: Mapped[list["CapaComplaint"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CapaComplaint.complaint_id")
    source_links: Mapped[list["CapaSourceLink"]] = relationship(
        lazy="selectin", order_by="CapaSourceLink.id", foreign_keys="CapaSourceLink.capa_id")
    actions: Mapped[list["CapaAction"]] = relationship(lazy="selectin", order_by="CapaAction.id")


@audited("capa_action")
class CapaAction(Base):
    """One corrective or preventive action with its owner and due date; a due date moves only by a
    request the QA head approves (an extension, not an edit)."""

    __tablename__ = "capa_actions"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('corrective', 'preventive')", name="kind_known"),
        sa.CheckConstraint("status IN ('open', 'implemented', 'verified')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    capa_id: Mapped[int] = mapped_column(sa.ForeignKey("capas.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.Text)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: external rectification (SOP 5.7): the distributor, carrier or other party that carries the action
    #: out; the owner is then the internal contact who follows it up and records its evidence
    external_party: Mapped[str | None] = mapped_column(sa.String(200))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16))
    evidence: Mapped[str | None] = mapped_column(sa.Text)
    implemented_on: Mapped[date | None] = mapped_column(sa.Date)
    requested_due_on: Mapped[date | None] = mapped_column(sa.Date)
    due_change_reason: Mapped[str | None] = mapped_column(sa.Text)
    due_change_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: the due date ``gmp tick`` last escalated (a new due date can be escalated again)
    escalated_for_due_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    evidence_files: Mapped[list["CapaEvidence"]] = relationship(lazy="selectin", order_by="CapaEvidence.id")


@audited("capa_evidence")
class CapaEvidence(Base):
    """A file proving an action's implementation: content-addressed like attachments, never deleted."""

    __tablename__ = "capa_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    capa_action_id: Mapped[int] = mapped_column(sa.ForeignKey("capa_actions.id"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(255))
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Job(Base):
    """Background work with its progress (not a GMP record: what it produces is audited by the services
    it calls)."""

    __tablename__ = "jobs"
    __table_args__ = (sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    parameters: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    done: Mapped[int] = mapped_column(sa.Integer, default=0)
    total: Mapped[int] = mapped_column(sa.Integer, default=0)
    result_file: Mapped[str | None] = mapped_column(sa.String(255))
    result_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- recall (SOP 5.5.3, DESIGN §4) -----------------------------------------------------------------


@audited("recall")
class Recall(Base):
    """A recall record ``RC-<yy>-<nnn>``; never deleted. The decision and the final report are signed
    by the QA head and the QP (``signatures``); ``decided_at`` is the time of the second decision
    signature and starts the clocks."""

    __tablename__ = "recalls"
    __table_args__ = (
        sa.CheckConstraint("status IN ('proposed', 'in_progress', 'completed', 'closed', 'cancelled')",
                           name="status_known"),
        sa.CheckConstraint("origin IN ('complaint', 'batch', 'trend', 'regulator_order')", name="origin_known"),
        sa.CheckConstraint("level IN ('I', 'II', 'III')", name="level_known"),
        sa.CheckConstraint("depth IN ('wholesale', 'retail', 'patient')", name="depth_known"),
        sa.CheckConstraint("fda_class IS NULL OR fda_class IN ('I', 'II', 'III')", name="fda_class_known"),
        sa.CheckConstraint("(status = 'proposed' OR status = 'cancelled') = (decided_at IS NULL)",
                           name="decided_iff_past_proposal"),
        sa.CheckConstraint("(status = 'cancelled') = (cancel_reason IS NOT NULL)", name="cancel_reason_iff_cancelled"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    origin: Mapped[str] = mapped_column(sa.String(16))
    level: Mapped[str] = mapped_column(sa.String(3))
    depth: Mapped[str] = mapped_column(sa.String(16))
    fda_class: Mapped[str | None] = mapped_column(sa.String(3))
    safety_hazard: Mapped[bool] = mapped_column(sa.Boolean)
    reason: Mapped[str] = mapped_column(sa.Text)
    #: impact on supply (EU GMP 8.9(vi), HO-11): no alternative product, and what it means
    no_alternative_product: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    supply_impact: Mapped[str | None] = mapped_column(sa.Text)
    #: why the recall is executed before the EU authorities are told of the defect (a very serious risk,
    #: EU GMP 8.15); without it, execution waits for those notifications
    authority_notice_exception: Mapped[str | None] = mapped_column(sa.Text)
    #: a regulator's order or a trend signal that started it, by reference
    origin_reference: Mapped[str | None] = mapped_column(sa.String(200))
    mock: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: HO-05: the market-specific actions, canonical JSON ``[{"market": "US", "action": "..."}]`` sorted by market
    market_actions: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    batch_links: Mapped[list["RecallBatch"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="RecallBatch.batch_id")
    complaint_links: Mapped[list["RecallComplaint"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="RecallComplaint.complaint_id")


@audited("recall", owner_id=lambda row: row.recall_id, owner_field="batch_ids", owner_value=lambda row: row.batch_id)
class RecallBatch(Base):
    __tablename__ = "recall_batches"

    recall_id: Mapped[int] = mapped_column(sa.ForeignKey("recalls.id"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"), primary_key=True, index=True)


@audited("recall", owner_id=lambda row: row.recall_id, owner_field="complaint_ids",
         owner_value=lambda row: row.complaint_id)
class RecallComplaint(Base):
    __tablename__ = "recall_complaints"

    recall_id: Mapped[int] = mapped_column(sa.ForeignKey("recalls.id"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), primary_key=True, index=True)


@audited("recall_reconciliation")
class RecallReconciliation(Base):
    """Per consignee and batch of a recall: delivered (from the distribution records when recorded),
    recovered, destroyed at the consignee, and where the rest is. Recovered stock is quarantined
    ("quarantined – recalled") until the batch's disposition."""

    __tablename__ = "recall_reconciliations"
    __table_args__ = (
        sa.UniqueConstraint("recall_id", "consignee", "batch_id", name="uq_recall_reconciliations_line"),
        sa.CheckConstraint("quantity_recovered >= 0 AND quantity_destroyed >= 0", name="quantities_not_negative"),
        sa.CheckConstraint("quantity_recovered + quantity_destroyed <= quantity_delivered",
                           name="within_delivered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recall_id: Mapped[int] = mapped_column(sa.ForeignKey("recalls.id"), index=True)
    consignee: Mapped[str] = mapped_column(sa.String(200))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"))
    quantity_delivered: Mapped[int] = mapped_column(sa.Integer)
    quantity_recovered: Mapped[int] = mapped_column(sa.Integer)
    quantity_destroyed: Mapped[int] = mapped_column(sa.Integer)
    explanation: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("configuration", owner_id=lambda row: "recall_clocks", owner_field="recall_clocks",
         owner_value=lambda row: recall_clock_line(row))
class RecallClockRow(Base):
    """The recall clocks per level: audited configuration (DESIGN §4 defaults, HO-06)."""

    __tablename__ = "recall_clocks"
    __table_args__ = (sa.CheckConstraint("level IN ('I', 'II', 'III')", name="level_known"),)

    level: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    notify_hours: Mapped[int] = mapped_column(sa.Integer)
    report_and_plan_days: Mapped[int] = mapped_column(sa.Integer)
    progress_every_days: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def recall_clock_line(row: RecallClockRow) -> str:
    """One level's clocks as the audit trail states them: ``I=24h/1d/1d``."""
    return f"{row.level}={row.notify_hours}h/{row.report_and_plan_days}d/{row.progress_every_days}d"


NOTIFICATION_KINDS = ("adr_report", "recall_notice", "recall_report_and_plan", "recall_progress", "field_alert",
                      "quality_report")


@audited("notification")
class Notification(Base):
    """The regulator-notification register (DESIGN §4, §6): what is due to an authority and what was sent."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(NOTIFICATION_KINDS), name="kind_known"),
        sa.CheckConstraint("subject_type IN ('complaint', 'recall')", name="subject_type_known"),
        sa.CheckConstraint("(sent_at IS NULL) = (method IS NULL)", name="sent_with_method"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    authority: Mapped[str] = mapped_column(sa.String(200))
    subject_type: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    subject_number: Mapped[str] = mapped_column(sa.String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    method: Mapped[str | None] = mapped_column(sa.String(32))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: the overdue escalation ``gmp tick`` sent (once per item)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the ADR case an ``adr_report`` is owed for (its submission marks it sent)
    adr_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("adr_cases.id"), index=True)
    #: a copy of what was sent (HO-13), in the content-addressed store under its SHA-256; added once
    copy_filename: Mapped[str | None] = mapped_column(sa.String(255))
    copy_media_type: Mapped[str | None] = mapped_column(sa.String(100))
    copy_size: Mapped[int | None] = mapped_column(sa.Integer)
    copy_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    copy_added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    copy_added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: a follow-up field alert report follows the report sent before it (HO-04)
    follows_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notifications.id"))
    #: a field alert report sent as the final FAR
    final_report: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: who received it: the FDA office, the provincial administration's unit, a named person
    recipient: Mapped[str | None] = mapped_column(sa.String(200))
    #: reminders ``gmp tick`` sent for the initial field alert (working days 1 and 2)
    reminders_sent: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")


# --- pharmacovigilance hand-off (SOP 5.6.2, DESIGN §4) ------------------------------------------------


ADR_CLOCK_RULES = tuple(rule.value for rule in ClockRule)


def adr_clock_line(row: "AdrClockRow") -> str:
    """One clock as the audit trail states it: ``cn_serious=15d``."""
    return f"{row.rule}={row.days}d"


@audited("configuration", owner_id=lambda row: "adr_clocks", owner_field="adr_clocks",
         owner_value=lambda row: adr_clock_line(row))
class AdrClockRow(Base):
    """The ADR reporting clocks per market (HO-01): master data, calendar days after day 0, loaded by
    migration 0046 with today's rules and changed by the administrator with a reason (audited). A change
    applies to hand-offs created afterwards. Never deleted."""

    __tablename__ = "adr_clocks"
    __table_args__ = (
        sa.CheckConstraint(sa.column("rule").in_(ADR_CLOCK_RULES), name="rule_known"),
        sa.CheckConstraint("market IN ('CN', 'EU', 'US')", name="market_known"),
        sa.CheckConstraint("days BETWEEN 0 AND 365", name="days_range"),
    )

    rule: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    market: Mapped[str] = mapped_column(sa.String(2))
    days: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))



@audited("adr_case", excluded={"reporter", "patient", "reaction"})
class AdrCase(Base):
    """A suspected adverse reaction handed to pharmacovigilance: sequence 1 is the initial report, later
    ones are follow-ups. Reporter, patient and reaction are personal (health) data and encrypted; day 0
    is the first awareness by anyone in the company."""

    __tablename__ = "adr_cases"
    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "sequence", name="uq_adr_cases_complaint_sequence"),
        sa.CheckConstraint(sa.column("seriousness").in_(tuple(s.value for s in Seriousness)), name="seriousness_known"),
        sa.CheckConstraint("(accepted_at IS NULL) = (accepted_by_id IS NULL)", name="accepted_with_who"),
        sa.CheckConstraint("submitted_at IS NULL OR (accepted_at IS NOT NULL AND case_number IS NOT NULL)",
                           name="submitted_after_acceptance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    sequence: Mapped[int] = mapped_column(sa.Integer)
    aware_on: Mapped[date] = mapped_column(sa.Date)
    seriousness: Mapped[str] = mapped_column(sa.String(24))
    unexpected: Mapped[bool] = mapped_column(sa.Boolean)
    reporter: Mapped[str | None] = mapped_column(sa.Text)
    patient: Mapped[str | None] = mapped_column(sa.Text)
    reaction: Mapped[str | None] = mapped_column(sa.Text)
    #: the earliest expedited-report deadline of the markets the product is sold in (None: none is owed)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    case_number: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submission_reference: Mapped[str | None] = mapped_column(sa.String(200))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: flagged as part of a group adverse event (药品群体不良事件): reported at once
    group_event: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())


@audited("adr_investigation_request")
class AdrInvestigationRequest(Base):
    """PV asks for a batch-quality investigation from within the hand-off (HO-03); QA answers from the
    complaint's investigation, and the answer is fed back to PV with the case."""

    __tablename__ = "adr_investigation_requests"
    __table_args__ = (
        sa.UniqueConstraint("adr_case_id", "sequence", name="uq_adr_investigation_requests_case_sequence"),
        sa.CheckConstraint("(answered_at IS NULL) = (answer IS NULL)", name="answered_with_text"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    adr_case_id: Mapped[int] = mapped_column(sa.ForeignKey("adr_cases.id"), index=True)
    sequence: Mapped[int] = mapped_column(sa.Integer)
    question: Mapped[str] = mapped_column(sa.Text)
    #: the batches PV asks about, space-separated (None: the complaint's batches)
    batch_nos: Mapped[str | None] = mapped_column(sa.String(500))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)


# --- compensation (SOP 5.5.1, DESIGN §4) --------------------------------------------------------------


def compensation_limit_line(row: "CompensationLimit") -> str:
    """One level's limit as the audit trail states it: ``vice_president=150000.00`` (``*`` unlimited)."""
    return f"{row.level}={row.max_amount_cny if row.max_amount_cny is not None else '*'}"


@audited("configuration", owner_id=lambda row: "compensation_ladder", owner_field="compensation_ladder",
         owner_value=lambda row: compensation_limit_line(row))
class CompensationLimit(Base):
    """The approval ladder: the most each level approves, in CNY; audited configuration."""

    __tablename__ = "compensation_limits"
    __table_args__ = (sa.CheckConstraint("level IN ('business_manager', 'vice_president', 'general_manager')",
                                         name="level_known"),)

    level: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    max_amount_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


@audited("configuration", owner_id=lambda row: "compensation_authorities", owner_field="compensation_authorities",
         owner_value=lambda row: f"{row.user_id}={row.level}")
class CompensationAuthority(Base):
    """Who holds which approval level: audited configuration kept by the administrator."""

    __tablename__ = "compensation_authorities"
    __table_args__ = (sa.CheckConstraint("level IN ('business_manager', 'vice_president', 'general_manager')",
                                         name="level_known"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(24))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


@audited("compensation")
class Compensation(Base):
    """Compensation agreed with the customer by sales and finance, approved by a signature of a person whose
    level covers the amount in CNY. Commercial: no GMP decision depends on it. Never deleted."""

    __tablename__ = "compensations"
    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "sequence", name="uq_compensations_complaint_sequence"),
        sa.CheckConstraint("amount > 0 AND amount_cny > 0", name="amounts_positive"),
        sa.CheckConstraint("status IN ('awaiting_approval', 'approved', 'rejected')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    sequence: Mapped[int] = mapped_column(sa.Integer)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_cny: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    agreed_on: Mapped[date] = mapped_column(sa.Date)
    #: finance's agreement: its reference (voucher, approval form)
    finance_reference: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str | None] = mapped_column(sa.Text)
    required_level: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[str] = mapped_column(sa.String(24))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- returned goods (SOP 5.5.2, DESIGN §4) -----------------------------------------------------------

RETURN_CHANNELS = tuple(c.value for c in ReturnChannel)


@audited("return", excluded={"returning_party", "returning_party_address"})
class ReturnedGoods(Base):
    """A return ``RT-<yy>-<nnn>``, linked to a complaint or standalone; quarantined until the QA head's
    signed disposition, never deleted. Stock goes back only with a passing retained-sample test (the
    database refuses it otherwise too). The returning party and its address hold ciphertext (SEC-11: the
    party may be a patient), like the complainant's columns, and stay out of the trail's row diffs."""

    __tablename__ = "returns"
    __table_args__ = (
        sa.CheckConstraint("status IN ('quarantined', 'evaluated', 'disposed')", name="status_known"),
        sa.CheckConstraint("quantity_received > 0", name="quantity_positive"),
        sa.CheckConstraint("sample_result IS NULL OR sample_result IN ('passed', 'failed', 'not_tested')",
                           name="sample_result_known"),
        sa.CheckConstraint("disposition IS NULL OR disposition IN ('destroy', 'reprocess', 'return_to_stock')",
                           name="disposition_known"),
        sa.CheckConstraint("(status = 'disposed') = (disposition IS NOT NULL)", name="disposed_iff_disposition"),
        sa.CheckConstraint("disposition IS NULL OR disposition <> 'return_to_stock' OR sample_result = 'passed'",
                           name="stock_only_after_passing_test"),
        sa.CheckConstraint(sa.column("channel").is_(None) | sa.column("channel").in_(RETURN_CHANNELS),
                           name="channel_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"), index=True)
    consignee: Mapped[str | None] = mapped_column(sa.String(200))
    quantity_received: Mapped[int] = mapped_column(sa.Integer)
    condition: Mapped[str] = mapped_column(sa.Text)
    received_on: Mapped[date] = mapped_column(sa.Date)
    #: REC-16 (21 CFR 211.204, China GMP Art. 136): through whom it came back (one channel per record), the
    #: returning party and its address, and the reason; required on receipt, null on returns recorded before
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    returning_party: Mapped[str | None] = mapped_column(sa.Text)
    returning_party_address: Mapped[str | None] = mapped_column(sa.Text)
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    storage_conditions: Mapped[str | None] = mapped_column(sa.Text)
    sample_result: Mapped[str | None] = mapped_column(sa.String(16))
    test_reference: Mapped[str | None] = mapped_column(sa.String(200))
    other_batches_implicated: Mapped[bool | None] = mapped_column(sa.Boolean)
    investigation_ref: Mapped[str | None] = mapped_column(sa.String(200))
    evaluated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposition: Mapped[str | None] = mapped_column(sa.String(16))
    disposition_rationale: Mapped[str | None] = mapped_column(sa.Text)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("recall_batch_disposition")
class RecallBatchDisposition(Base):
    """The QA head's signed disposition of a recalled batch's stock (HO-10): destroy, reprocess with its
    rationale, or back to stock only with a test record. One per recall and batch; never deleted."""

    __tablename__ = "recall_batch_dispositions"
    __table_args__ = (
        sa.UniqueConstraint("recall_id", "batch_id", name="uq_recall_batch_dispositions_batch"),
        sa.CheckConstraint("decision IN ('destroy', 'reprocess', 'return_to_stock')", name="decision_known"),
        sa.CheckConstraint("decision <> 'return_to_stock' OR test_reference IS NOT NULL", name="stock_needs_test"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recall_id: Mapped[int] = mapped_column(sa.ForeignKey("recalls.id"), index=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"))
    decision: Mapped[str] = mapped_column(sa.String(16))
    rationale: Mapped[str | None] = mapped_column(sa.Text)
    test_reference: Mapped[str | None] = mapped_column(sa.String(200))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("recall_effectiveness_check")
class RecallEffectivenessCheck(Base):
    """The effectiveness check of a recall (21 CFR 7.42(b)(3)): its level and the seed of its sample, so the
    same sample is drawn again by anyone."""

    __tablename__ = "recall_effectiveness_checks"
    __table_args__ = (sa.CheckConstraint("level IN ('A', 'B', 'C', 'D', 'E')", name="level_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recall_id: Mapped[int] = mapped_column(sa.ForeignKey("recalls.id"), unique=True)
    level: Mapped[str] = mapped_column(sa.String(1))
    seed: Mapped[str] = mapped_column(sa.String(64))
    sample: Mapped[str] = mapped_column(sa.Text)
    chosen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("recall_effectiveness_contact")
class RecallEffectivenessContact(Base):
    """One contact of the effectiveness check: who was reached, how, and what they confirmed."""

    __tablename__ = "recall_effectiveness_contacts"
    __table_args__ = (
        sa.UniqueConstraint("recall_id", "consignee", name="uq_recall_effectiveness_contacts_consignee"),
        sa.CheckConstraint("result IN ('notice_received_stock_removed', 'notice_received_stock_found', "
                           "'notice_not_received', 'not_reached')", name="result_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recall_id: Mapped[int] = mapped_column(sa.ForeignKey("recalls.id"), index=True)
    consignee: Mapped[str] = mapped_column(sa.String(200))
    contacted_on: Mapped[date] = mapped_column(sa.Date)
    method: Mapped[str] = mapped_column(sa.String(32))
    result: Mapped[str] = mapped_column(sa.String(40))
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("recall_notice")
class RecallNotice(Base):
    """The notice a consignee receives (a letter without internal signatures): when it was prepared, the
    SHA-256 of the PDF handed out, and when and how it was sent. A mock recall prepares but never sends."""

    __tablename__ = "recall_notices"
    __table_args__ = (
        sa.UniqueConstraint("recall_id", "consignee", name="uq_recall_notices_consignee"),
        sa.CheckConstraint("(sent_at IS NULL) = (method IS NULL)", name="sent_with_method"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recall_id: Mapped[int] = mapped_column(sa.ForeignKey("recalls.id"), index=True)
    consignee: Mapped[str] = mapped_column(sa.String(200))
    locale: Mapped[str] = mapped_column(sa.String(16))
    document_sha256: Mapped[str] = mapped_column(sa.String(64))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    method: Mapped[str | None] = mapped_column(sa.String(32))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


@audited("user_notice")
class UserNotice(Base):
    """A notice to one person (WF-10, WF-11): a new complaint or investigation for the QP, an assignment for
    the investigator, a signature due for the head of quality. Kept as sent, never deleted; shown in the
    app and, where the person has an address and mail is configured, e-mailed through the outbox."""

    __tablename__ = "user_notices"
    #: "does the person already have this notice unread?" before each notice is sent (migration 0052)
    __table_args__ = (sa.Index("ix_user_notices_subject", "user_id", "subject_type", "subject_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_type: Mapped[str] = mapped_column(sa.String(24))
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    #: the record's number or intake reference as it was when the notice was sent
    record_label: Mapped[str] = mapped_column(sa.String(64))
    outbox_message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeRead(Base):
    """When the person opened a notice: their own reading state, not a GMP record (so not audited)."""

    __tablename__ = "notice_reads"

    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("user_notices.id"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("notice_acknowledgement")
class NoticeAcknowledgement(Base):
    """WF-10: the person told (the QP of a risk-reducing action or a recall) acknowledges the notice: when and by
    whom, once. Never changed, never deleted."""

    __tablename__ = "notice_acknowledgements"

    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("user_notices.id"), primary_key=True)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))


@audited("responsible_official")
class ResponsibleOfficial(Base):
    """WF-11 (21 CFR 211.180(f)): a person designated to receive the written notice of every complaint
    investigation (211.198), every evaluation of returned goods (211.204) or every recall. Audited configuration
    kept by the administrator under change control; a withdrawal is recorded on the row, which stays. A scope
    with nobody designated means the head of quality."""

    __tablename__ = "responsible_officials"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('investigations', 'returns', 'recalls')", name="scope_known"),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by_id IS NULL)", name="withdrawn_completely"),
        sa.Index("uq_responsible_officials_designated", "scope", "user_id", unique=True,
                 sqlite_where=sa.text("withdrawn_at IS NULL"), postgresql_where=sa.text("withdrawn_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    designated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


@audited("legal_hold")
class LegalHold(Base):
    """A legal or regulatory hold (RET-02): while one is in force the complaint is not disposed of, whatever its
    retention date. Placed and released by the head of quality, each signed with a reason; never deleted."""

    __tablename__ = "legal_holds"
    __table_args__ = (sa.CheckConstraint(
        "(released_at IS NULL) = (released_by_id IS NULL) AND (released_at IS NULL) = (release_reason IS NULL)",
        name="released_completely"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    placed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(sa.Text)
    placed_by: Mapped["User"] = relationship(lazy="selectin", foreign_keys=[placed_by_id])
    released_by: Mapped["User | None"] = relationship(lazy="selectin", foreign_keys=[released_by_id])


@audited("disposal")
class Disposal(Base):
    """The signed disposal of a complaint after its retention date (RET-02): the tombstone of what was kept (number,
    intake reference, class, dates), the SHA-256 of every item removed, who disposed of it, when and why. Never
    changed, never deleted."""

    __tablename__ = "disposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    disposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    disposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: JSON: the facts kept of the complaint
    tombstone: Mapped[str] = mapped_column(sa.Text)
    #: JSON: item -> SHA-256 of what was removed
    removed: Mapped[str] = mapped_column(sa.Text)
    events_disposed: Mapped[int] = mapped_column(sa.Integer)


@audited("legacy_import")
class LegacyImport(Base):
    """The reconciliation record of one legacy ledger file (RET-05): what was read and imported, the SHA-256 of the
    file and of the content as stored; signed by the head of quality. Never changed, never deleted."""

    __tablename__ = "legacy_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    rows_read: Mapped[int] = mapped_column(sa.Integer)
    rows_imported: Mapped[int] = mapped_column(sa.Integer)
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    imported_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


@audited("not_known_item")
class NotKnownItem(Base):
    """An item of the complaint file that is not known (REC-02), marked so by QA with the reason: the closure
    does not wait for it. Marked once per item; never deleted (the reason is removed with a disposal)."""

    __tablename__ = "not_known_items"
    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "item", name="uq_not_known_items_complaint_item"),
        sa.CheckConstraint(sa.column("item").in_(tuple(item.value for item in FileItem)), name="item_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    item: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str] = mapped_column(sa.Text)
    marked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    marked_by: Mapped["User"] = relationship(lazy="selectin", foreign_keys=[marked_by_id])


@audited("access_request", excluded={"password_hash"})
class AccessRequest(Base):
    """A requested change of access (SEC-04, Annex 11 §12.3): an account to create, roles to grant or withdraw, an
    account to deactivate. The administrator asks, with a reason; nothing changes until a second person, the head of
    quality, approves it after entering the password again (or rejects it). Decided once; never deleted."""

    __tablename__ = "access_requests"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('create_user', 'change_roles', 'deactivate_user')", name="kind_known"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        sa.CheckConstraint("account_type IN ('person', 'service')", name="account_type_known"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL) AND (decided_at IS NULL) = (decided_by_id IS NULL)",
                           name="decided_completely"),
        sa.CheckConstraint("kind = 'create_user' OR user_id IS NOT NULL", name="target_named"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    #: whose access changes (an account to create has none until the approval creates it)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    #: the account to create: its printed name, type, address and whether the requester verified the identity
    printed_name: Mapped[str | None] = mapped_column(sa.String(200))
    account_type: Mapped[str] = mapped_column(sa.String(16), default="person")
    email: Mapped[str | None] = mapped_column(sa.String(254))
    identity_verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: the roles before and the roles requested, space-separated role keys (blank: none)
    roles_before: Mapped[str | None] = mapped_column(sa.String(400))
    roles: Mapped[str | None] = mapped_column(sa.String(400))
    #: the Argon2id hash of the temporary password handed over at the request; cleared at the decision
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    reason: Mapped[str] = mapped_column(sa.Text)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(sa.Text)


@audited("security_alert")
class SecurityAlert(Base):
    """An alert on repeated failed log-ins or signings (SEC-06, 21 CFR 11.300(d)), raised at once to the
    administrators and the head of quality, with its event record: the account (or the unknown user name attempted),
    what failed, from where, when, and the audit events. Kept as raised; never changed, never deleted."""

    __tablename__ = "security_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: ``user:<id>`` or ``name:<user name attempted>``: what the failures are counted by
    account_key: Mapped[str] = mapped_column(sa.String(80), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(sa.String(64))
    #: ``login``, ``signing`` or both, space-separated
    kinds: Mapped[str] = mapped_column(sa.String(32))
    failure_count: Mapped[int] = mapped_column(sa.Integer)
    threshold: Mapped[int] = mapped_column(sa.Integer)
    window_minutes: Mapped[int] = mapped_column(sa.Integer)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the client addresses, space-separated
    source_addresses: Mapped[str] = mapped_column(sa.Text)
    #: the audit log indices of the failures, space-separated
    event_indices: Mapped[str] = mapped_column(sa.Text)
