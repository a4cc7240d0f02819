"""Batch master data from the ERP: products, batches, distribution records (REC-10, REC-12)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.markets import HOME_MARKET, parse_markets, split_markets
from gmp_complaints.models import Batch, Complaint, ComplaintBatch, Distribution, Product
from gmp_complaints.services import schemas
from gmp_complaints.services.recalls import recalled_stock, recalls_of_batch
from gmp_complaints.services.returns import returns_of_batch
from gmp_complaints.uow import UnitOfWork


@dataclass(frozen=True)
class ProductInput:
    code: str
    name: str
    strength: str
    dosage_form: str
    has_expiry: bool = True
    markets: tuple[str, ...] = (HOME_MARKET,)
    marketing_authorisation_holder: str | None = None
    contract_partner: str | None = None
    partner_quality_contact: str | None = None


def validate_product(data: dict) -> ProductInput:
    fields = schemas.load(schemas.Product, data)
    has_expiry = True if fields["has_expiry"] is None else fields["has_expiry"]
    markets = parse_markets(fields["markets"]) if fields["markets"] is not None else (HOME_MARKET,)
    return ProductInput(fields["code"], fields["name"], fields["strength"], fields["dosage_form"], has_expiry,
                        markets, fields["marketing_authorisation_holder"], fields["contract_partner"],
                        fields["partner_quality_contact"])


@dataclass(frozen=True)
class BatchInput:
    product_code: str
    batch_no: str
    manufactured_on: date
    expires_on: date | None
    released_on: date | None


def validate_batch(data: dict) -> BatchInput:
    fields = schemas.load(schemas.Batch, data)
    product_code, batch_no = fields["product_code"], fields["batch_no"]
    manufactured_on, expires_on, released_on = fields["manufactured_on"], fields["expires_on"], fields["released_on"]
    errors: dict = {}
    if manufactured_on and expires_on and expires_on <= manufactured_on:
        errors["expires_on"] = [Msg("The expiry date must be after the manufacture date.")]
    if manufactured_on and released_on and released_on < manufactured_on:
        errors["released_on"] = [Msg("The release date cannot be before the manufacture date.")]
    if errors:
        raise ValidationError(Msg("The batch has invalid fields."), errors)
    return BatchInput(product_code, batch_no, manufactured_on, expires_on, released_on)


@dataclass(frozen=True)
class DistributionInput:
    product_code: str
    batch_no: str
    consignee: str
    quantity: int
    shipped_on: date
    #: how the consignee is reached in a recall (EU GMP 8.22, 8.23)
    address: str | None = None
    contact: str | None = None
    phone: str | None = None
    email: str | None = None
    out_of_hours_contact: str | None = None
    is_export: bool = False
    is_medical_sample: bool = False


def validate_distribution(data: dict) -> DistributionInput:
    fields = schemas.load(schemas.Distribution, data)
    return DistributionInput(fields["product_code"], fields["batch_no"], fields["consignee"], fields["quantity"],
                             fields["shipped_on"], fields["address"], fields["contact"], fields["phone"],
                             fields["email"], fields["out_of_hours_contact"], bool(fields["is_export"]),
                             bool(fields["is_medical_sample"]))


def product_by_code(session, code: str) -> Product | None:
    return session.scalars(sa.select(Product).where(Product.code == code)).one_or_none()


def batch_by_number(session, product_id: int, batch_no: str) -> Batch | None:
    return session.scalars(sa.select(Batch).where(Batch.product_id == product_id, Batch.batch_no == batch_no)).one_or_none()


def add_product(uow: UnitOfWork, session, data: ProductInput, *, actor_id: int | None, is_demo: bool = False) -> Product:
    """Inside the caller's unit of work (the API creates one, an import many)."""
    if product_by_code(session, data.code) is not None:
        raise ConflictError(Msg("A product with this code exists."), {"code": [Msg("This product code exists.")]})
    product = Product(code=data.code, name=data.name, strength=data.strength, dosage_form=data.dosage_form,
                      has_expiry=data.has_expiry, markets=" ".join(data.markets),
                      marketing_authorisation_holder=data.marketing_authorisation_holder,
                      contract_partner=data.contract_partner, partner_quality_contact=data.partner_quality_contact,
                      is_demo=is_demo,
                      created_at=uow.now())
    session.add(product)
    session.flush()
    uow.record(DomainEvent("product.created", "product", str(product.id), actor_id=actor_id))
    return product


def add_batch(uow: UnitOfWork, session, data: BatchInput, *, actor_id: int | None, is_demo: bool = False) -> Batch:
    product = product_by_code(session, data.product_code)
    if product is None:
        raise ValidationError(Msg("Unknown product."), {"product_code": [Msg("No product has this code.")]})
    if product.has_expiry and data.expires_on is None:
        raise ValidationError(Msg("Expiry date missing."), {"expires_on": [Msg("This product has expiry dating.")]})
    if batch_by_number(session, product.id, data.batch_no) is not None:
        raise ConflictError(Msg("This batch exists."), {"batch_no": [Msg("This batch number exists for the product.")]})
    batch = Batch(product_id=product.id, batch_no=data.batch_no, manufactured_on=data.manufactured_on,
                  expires_on=data.expires_on, released_on=data.released_on, is_demo=is_demo, created_at=uow.now())
    session.add(batch)
    session.flush()
    uow.record(DomainEvent("batch.created", "batch", str(batch.id), actor_id=actor_id))
    return batch


def add_distribution(uow: UnitOfWork, session, data: DistributionInput, *, actor_id: int | None,
                     is_demo: bool = False) -> Distribution:
    product = product_by_code(session, data.product_code)
    batch = batch_by_number(session, product.id, data.batch_no) if product else None
    if batch is None:
        raise ValidationError(Msg("Unknown batch."), {"batch_no": [Msg("No batch of this product has this number.")]})
    if data.shipped_on < batch.manufactured_on:
        raise ValidationError(Msg("Shipped before manufacture."), {"shipped_on": [Msg("Before the manufacture date.")]})
    row = Distribution(batch_id=batch.id, consignee=data.consignee, quantity=data.quantity,
                       shipped_on=data.shipped_on, address=data.address, contact=data.contact, phone=data.phone,
                       email=data.email, out_of_hours_contact=data.out_of_hours_contact, is_export=data.is_export,
                       is_medical_sample=data.is_medical_sample, is_demo=is_demo, created_at=uow.now())
    session.add(row)
    session.flush()
    uow.record(DomainEvent("distribution.created", "distribution", str(row.id), actor_id=actor_id))
    return row


def create_product(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    product_input = validate_product(data)
    with uow:
        product = add_product(uow, uow.session, product_input, actor_id=actor_id)
        uow.commit()
        return product_view(product)


def create_batch(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    batch_input = validate_batch(data)
    with uow:
        batch = add_batch(uow, uow.session, batch_input, actor_id=actor_id)
        uow.commit()
        return batch_view(uow.session, batch)


def create_distribution(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    distribution_input = validate_distribution(data)
    with uow:
        row = add_distribution(uow, uow.session, distribution_input, actor_id=actor_id)
        uow.commit()
        return {"id": row.id, "batch_id": row.batch_id, "consignee": row.consignee, "quantity": row.quantity,
                "shipped_on": row.shipped_on.isoformat(), "address": row.address, "contact": row.contact,
                "phone": row.phone, "email": row.email, "out_of_hours_contact": row.out_of_hours_contact, "is_export": row.is_export,
                "is_medical_sample": row.is_medical_sample}


def change_product_markets(uow: UnitOfWork, code: str, data: dict, *, actor_id: int) -> dict:
    """Where the product is marketed and who holds its authorisation: master data that decides whom a
    quality defect is reported to (HO-08), changed with a reason."""
    fields = schemas.load(schemas.ProductMarkets, data)
    markets = " ".join(parse_markets(fields["markets"]))
    with uow:
        product = uow.session.scalars(sa.select(Product).where(Product.code == code).with_for_update()).one_or_none()
        if product is None:
            raise NotFoundError(Msg("No product with code %(code)s.", code=code))
        given = (markets, fields["marketing_authorisation_holder"], fields["contract_partner"],
                 fields["partner_quality_contact"])
        if (product.markets, product.marketing_authorisation_holder, product.contract_partner,
                product.partner_quality_contact) == given:
            raise ValidationError(Msg("Nothing changed."), {"markets": [Msg("These are the markets already recorded.")]})
        (product.markets, product.marketing_authorisation_holder, product.contract_partner,
         product.partner_quality_contact) = given
        uow.record(DomainEvent("product.markets_changed", "product", str(product.id), reason=fields["reason"],
                               actor_id=actor_id, change_control_ref=fields["change_control_ref"]))
        uow.commit()
        return product_view(product)


def product_view(product: Product) -> dict:
    return {"id": product.id, "code": product.code, "name": product.name, "strength": product.strength,
            "dosage_form": product.dosage_form, "has_expiry": product.has_expiry,
            "markets": list(split_markets(product.markets)),
            "marketing_authorisation_holder": product.marketing_authorisation_holder,
            "contract_partner": product.contract_partner, "partner_quality_contact": product.partner_quality_contact}


def batch_view(session, batch: Batch) -> dict:
    product = session.get(Product, batch.product_id)
    return {"id": batch.id, "product_code": product.code, "batch_no": batch.batch_no,
            "manufactured_on": batch.manufactured_on.isoformat(),
            "expires_on": batch.expires_on.isoformat() if batch.expires_on else None,
            "released_on": batch.released_on.isoformat() if batch.released_on else None}


def adjacent_batches(session, batch: Batch, width: int = 2) -> list[Batch]:
    """Same product, nearest by manufacture date on both sides (SOP 5.4.3: stock of adjacent batches)."""
    same = sa.select(Batch).where(Batch.product_id == batch.product_id, Batch.id != batch.id)
    before = session.scalars(same.where(Batch.manufactured_on <= batch.manufactured_on)
                             .order_by(Batch.manufactured_on.desc(), Batch.id.desc()).limit(width)).all()
    after = session.scalars(same.where(Batch.manufactured_on > batch.manufactured_on)
                            .order_by(Batch.manufactured_on, Batch.id).limit(width)).all()
    return list(reversed(before)) + list(after)


def batch_page(uow: UnitOfWork, batch_id: int, *, roles) -> dict:
    """Everything the batch page shows: the batch, its complaints, adjacent batches and consignees; the returns' parties
    masked for ``roles`` without personal-data access."""
    with uow:
        batch = uow.session.get(Batch, batch_id)
        if batch is None:
            raise NotFoundError(Msg("No batch with id %(id)s.", id=batch_id))
        complaints = uow.session.scalars(
            sa.select(Complaint).join(ComplaintBatch).where(ComplaintBatch.batch_id == batch.id)
            .order_by(Complaint.received_on.desc())).all()
        distributions = uow.session.scalars(
            sa.select(Distribution).where(Distribution.batch_id == batch.id).order_by(Distribution.shipped_on)).all()
        return {
            "batch": batch_view(uow.session, batch),
            "product": product_view(uow.session.get(Product, batch.product_id)),
            "complaints": [{"id": c.id, "intake_ref": c.intake_ref, "number": c.number, "status": c.status,
                            "received_on": c.received_on.isoformat()} for c in complaints],
            "adjacent_batches": [batch_view(uow.session, b) for b in adjacent_batches(uow.session, batch)],
            # REC-12: every shipment of the batch with the consignee's contacts (out of hours included), exports
            # and medical samples marked
            "distributions": [{"consignee": d.consignee, "quantity": d.quantity, "shipped_on": d.shipped_on.isoformat(),
                               "address": d.address, "contact": d.contact, "phone": d.phone, "email": d.email,
                               "out_of_hours_contact": d.out_of_hours_contact, "is_export": d.is_export,
                               "is_medical_sample": d.is_medical_sample}
                              for d in distributions],
            "recalls": [{"id": r.id, "number": r.number, "status": r.status, "level": r.level,
                         **recalled_stock(uow.session, r.id, batch.id)}
                        for r in recalls_of_batch(uow.session, batch.id)],
            "returns": returns_of_batch(uow, batch.id, roles),
        }


#: how many batches the registration page offers to pick from (the newest; any other can still be typed)
PICKER_BATCHES = 2000


def registration_pickers(uow: UnitOfWork) -> dict:
    """What the registration page offers to pick from master data: the products, and the newest batches
    with their product, so a product code and a batch number are chosen rather than typed."""
    with uow:
        session = uow.session
        products = [{"code": code, "name": name} for code, name in session.execute(
            sa.select(Product.code, Product.name).order_by(Product.code))]
        batches = [{"batch_no": batch_no, "product_code": code, "expires_on": expires.isoformat() if expires else None}
                   for batch_no, code, expires in session.execute(
                       sa.select(Batch.batch_no, Product.code, Batch.expires_on).join(
                           Product, Product.id == Batch.product_id).order_by(Batch.id.desc()).limit(PICKER_BATCHES))]
        return {"products": products, "batches": batches}
