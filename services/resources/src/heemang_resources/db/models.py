"""The resources service's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from heemang_common.db import UtcDateTime, new_metadata
from heemang_common.outbox import InboxMixin, OutboxMixin, RelayStateMixin

ID = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class RelayState(RelayStateMixin, Base):
    pass


class LedgerAccount(Base):
    """An account and its running totals. The totals are maintained in the transaction that
    inserts the lines (under this row's lock) and always equal the sums of its lines; the
    CHECK keeps a no-overdraft account from going negative even if code forgot to look."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("debits >= 0 AND credits >= 0", name="totals_non_negative"),
        CheckConstraint("NOT no_overdraft OR debits >= credits", name="no_overdraft"),
    )

    code: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    funding_source: Mapped[str | None] = mapped_column(String(20))
    no_overdraft: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(200), default="")
    debits: Mapped[int] = mapped_column(BigInteger, default=0)
    credits: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JournalEntry(Base):
    """Immutable (UPDATE/DELETE raise in the database: triggers in migration 0002)."""

    __tablename__ = "journal_entries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    memo: Mapped[str] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)
    # Unique: an entry is reversed at most once, whatever races the application loses.
    reverses: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    total: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_journal_entries_posted", "posted_at", "id"),)


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("side IN ('debit', 'credit')", name="side_known"),
        Index("ix_journal_lines_account", "account_code", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_code: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.code"))
    side: Mapped[str] = mapped_column(String(6))
    amount: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKey(Base):
    """A client's key, scoped to the caller (subject), with the first response's bytes."""

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    token: Mapped[uuid.UUID] = mapped_column(Uuid)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)


class Allocation(Base):
    """The answer to one casework service request, and its delivery."""

    __tablename__ = "allocations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    dong: Mapped[str] = mapped_column(String(50), index=True)
    service_code: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int | None] = mapped_column(Integer)
    requested_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)  # approved (0 when rejected)
    fund: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))  # approved | rejected | delivered
    reason: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    year: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivery_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Donor(Base):
    """A sponsor (후원자): an individual or a company, regular (정기) or one-off (일시)."""

    __tablename__ = "donors"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # individual | company
    name: Mapped[str] = mapped_column(String(200))
    sponsorship: Mapped[str] = mapped_column(String(20))  # regular | one_off
    hall_of_fame: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Campaign(Base):
    """A fundraising campaign; amounts in KRW. `goal_reached_on` is set once, with the event."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    goal: Mapped[int] = mapped_column(BigInteger)
    goal_reached_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Donation(Base):
    """A gift (성금 cash or 성품 goods at appraised value) and the entry that booked it."""

    __tablename__ = "donations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    donor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("donors.id"), index=True)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    form: Mapped[str] = mapped_column(String(10))  # cash | goods
    designation: Mapped[str] = mapped_column(String(20))  # general | household | programme
    designated_household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    designated_programme: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    goods_description: Mapped[str | None] = mapped_column(String(300))
    received_on: Mapped[date] = mapped_column(Date, index=True)
    fund: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    receipt_serial: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReceiptCounter(Base):
    """The last receipt serial number issued per year (locked while issuing)."""

    __tablename__ = "receipt_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class VoucherProgramme(Base):
    """A voucher programme, e.g. the side-dish voucher 다함께 찬찬찬."""

    __tablename__ = "voucher_programmes"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    monthly_amount: Mapped[int] = mapped_column(BigInteger)
    holiday_bonus: Mapped[int] = mapped_column(BigInteger)
    budget_line: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VoucherHolder(Base):
    __tablename__ = "voucher_holders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    programme: Mapped[str] = mapped_column(ForeignKey("voucher_programmes.code"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    dong: Mapped[str] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VoucherShop(Base):
    """A member shop (가맹점): a partner agency id allowed to charge the programme's wallets."""

    __tablename__ = "voucher_shops"

    programme: Mapped[str] = mapped_column(ForeignKey("voucher_programmes.code"), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class VoucherTopUpRun(Base):
    """One monthly top-up; the primary key makes a second run for the month impossible."""

    __tablename__ = "voucher_topup_runs"

    programme: Mapped[str] = mapped_column(ForeignKey("voucher_programmes.code"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    holiday: Mapped[bool] = mapped_column(Boolean)
    holders: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VoucherCharge(Base):
    __tablename__ = "voucher_charges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    programme: Mapped[str] = mapped_column(String(50))
    holder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("voucher_holders.id"), index=True)
    shop: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[str] = mapped_column(String(7))
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    charged_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_voucher_charges_programme_month", "programme", "month"),)


class BudgetLine(Base):
    """A budget line (예산 세부사업) of a fiscal year; its money sits in one ledger account
    per funding source (`budget:<code>:<source>`)."""

    __tablename__ = "budget_lines"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AllowanceProgramme(Base):
    """Recurring payments (수당) from a budget line, e.g. 보훈예우수당 50,000 KRW a month."""

    __tablename__ = "allowance_programmes"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    budget_account: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AllowanceEnrolment(Base):
    """A beneficiary's eligibility with dates, and where the money goes (personal data)."""

    __tablename__ = "allowance_enrolments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    programme: Mapped[str] = mapped_column(ForeignKey("allowance_programmes.code"), index=True)
    person_ref: Mapped[str] = mapped_column(String(100))
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    dong: Mapped[str] = mapped_column(String(50))
    holder_name: Mapped[str] = mapped_column(String(100))
    bank_code: Mapped[str] = mapped_column(String(10))
    account_number: Mapped[str] = mapped_column(String(40))
    eligible_from: Mapped[date] = mapped_column(Date)
    eligible_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AllowancePayment(Base):
    """One person paid for one period: the primary key is what makes a second payment for
    the same period impossible, whatever crashed or was retried."""

    __tablename__ = "allowance_payments"

    programme: Mapped[str] = mapped_column(ForeignKey("allowance_programmes.code"), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allowance_enrolments.id"), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FoodLot(Base):
    """Goods received by the food bank (푸드뱅크 입고): one lot per item and expiry."""

    __tablename__ = "foodbank_lots"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_in_range"),
        Index("ix_foodbank_lots_item_expiry", "item", "expires_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    item: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    unit_value: Mapped[int] = mapped_column(BigInteger)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    received_on: Mapped[date] = mapped_column(Date)
    donor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("donors.id"))
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class FoodIssue(Base):
    """Goods handed out (출고) to a household or a facility."""

    __tablename__ = "foodbank_issues"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    item: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    facility: Mapped[str | None] = mapped_column(String(100))
    dong: Mapped[str | None] = mapped_column(String(50))
    issued_on: Mapped[date] = mapped_column(Date, index=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class BalanceShard(Base):
    """Running totals of a boundary account (a source or a sink), split over shards.

    Boundary accounts may go negative, so nothing needs to lock them, but every donation,
    delivery or shop charge adds to one of a handful of them (`ext:donations:cash`…): one
    totals row would serialise all postings behind its row lock. A posting adds its line to
    one shard picked at random; the account's totals are the sum of its shards."""

    __tablename__ = "ledger_balance_shards"
    __table_args__ = (CheckConstraint("debits >= 0 AND credits >= 0", name="totals_non_negative"),)

    account_code: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.code"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    debits: Mapped[int] = mapped_column(BigInteger, default=0)
    credits: Mapped[int] = mapped_column(BigInteger, default=0)


class FoodWriteOff(Base):
    """Goods of a lot thrown away (폐기: expired or spoiled), at the lot's appraised value."""

    __tablename__ = "foodbank_write_offs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("foodbank_lots.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    written_off_on: Mapped[date] = mapped_column(Date)
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class CorporateAgreement(Base):
    """A company's in-kind service offer (협약: home repair, dental care, pest control…)."""

    __tablename__ = "corporate_agreements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    donor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("donors.id"), index=True)
    service: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(300))
    unit_value: Mapped[int] = mapped_column(BigInteger)  # appraised KRW per use (환가)
    uses_per_year: Mapped[int | None] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgreementUse(Base):
    """One use of an agreement for a household, booked as goods received and given at once."""

    __tablename__ = "agreement_uses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("corporate_agreements.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    dong: Mapped[str] = mapped_column(String(50))
    used_on: Mapped[date] = mapped_column(Date)
    value: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
