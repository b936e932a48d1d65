"""The classes of every record and enum in schemas/catalog.toml, generated once by ``pipeline generate``.

Do not edit: change the schemas and run ``make generate``.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid

__all__ = [
    "MODEL",
    "ActivityKind",
    "Address",
    "CustomerActivity",
    "CustomerEvent",
    "CustomerEventType",
    "Money",
    "Order",
    "OrderStatus",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentStatus",
    "ShipmentCreated",
    "ShipmentDelivered",
    "ShipmentDispatched",
    "ShipmentKey",
]


class OrderStatus(enum.Enum):
    """Where the order is in its life cycle."""

    __avro_name__ = "com.example.orders.OrderStatus"

    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


class PaymentMethod(enum.Enum):
    """How the customer pays."""

    __avro_name__ = "com.example.payments.PaymentMethod"

    CARD = "CARD"
    BANK_TRANSFER = "BANK_TRANSFER"
    WALLET = "WALLET"


class PaymentStatus(enum.Enum):
    """Where the payment is in its life cycle."""

    __avro_name__ = "com.example.payments.PaymentStatus"

    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"


class CustomerEventType(enum.Enum):
    """What happened to the account."""

    __avro_name__ = "com.example.customers.CustomerEventType"

    REGISTERED = "REGISTERED"
    UPDATED = "UPDATED"
    DEACTIVATED = "DEACTIVATED"


class ActivityKind(enum.Enum):
    """What the customer's order did."""

    __avro_name__ = "com.example.activity.ActivityKind"

    ORDER_PLACED = "ORDER_PLACED"
    ORDER_CONFIRMED = "ORDER_CONFIRMED"
    ORDER_SHIPPED = "ORDER_SHIPPED"
    ORDER_DELIVERED = "ORDER_DELIVERED"


@dataclasses.dataclass(slots=True, kw_only=True)
class Order:
    """An order placed by a customer."""

    __avro_name__ = "com.example.orders.Order"

    order_id: str
    """Unique order identifier."""

    customer_id: str
    """The customer who placed the order."""

    amount: float
    """Order total in the shop's currency."""

    product: str
    """Product name."""

    status: OrderStatus
    """Current status."""

    created_at: datetime.datetime
    """When the order was placed."""


@dataclasses.dataclass(slots=True, kw_only=True)
class PaymentEvent:
    """Something that happened to the payment of an order."""

    __avro_name__ = "com.example.payments.PaymentEvent"

    payment_id: uuid.UUID
    """Unique payment identifier."""

    order_id: str
    """The order being paid for."""

    amount: Money
    """Amount of this payment."""

    method: PaymentMethod
    """Payment method."""

    status: PaymentStatus
    """Status after this event."""

    billing_address: Address | None = None
    """Billing address, when the method needs one."""

    occurred_at: datetime.datetime
    """When it happened."""


@dataclasses.dataclass(slots=True, kw_only=True)
class Money:
    """An exact amount of money in one currency."""

    __avro_name__ = "com.example.common.Money"

    amount: decimal.Decimal
    """The amount, with two decimal places."""

    currency: str
    """ISO 4217 currency code, e.g. EUR."""


@dataclasses.dataclass(slots=True, kw_only=True)
class Address:
    """A postal address."""

    __avro_name__ = "com.example.common.Address"

    line1: str
    """Street and house number."""

    line2: str | None = None
    """Flat, floor or c/o, if any."""

    city: str
    """City or town."""

    postal_code: str
    """Postal code as written in the country."""

    country_code: str
    """ISO 3166-1 alpha-2 country code, e.g. DE."""


@dataclasses.dataclass(slots=True, kw_only=True)
class CustomerEvent:
    """A change to a customer's account."""

    __avro_name__ = "com.example.customers.CustomerEvent"

    customer_id: str
    """The customer concerned."""

    event_type: CustomerEventType
    """What happened."""

    full_name: str
    """Name as the customer gave it."""

    email: str | None = None
    """Contact e-mail, if given."""

    shipping_address: Address
    """Where orders are delivered."""

    credit_limit: Money | None = None
    """Credit granted to the customer, if any."""

    date_of_birth: datetime.date | None = None
    """Date of birth, if given."""

    occurred_at: datetime.datetime
    """When it happened."""


@dataclasses.dataclass(slots=True, kw_only=True)
class ShipmentCreated:
    """A shipment was created for an order."""

    __avro_name__ = "com.example.shipments.ShipmentCreated"

    order_id: str
    """The order being shipped."""

    destination: Address
    """Where it goes."""

    parcels: int
    """How many parcels."""

    created_at: datetime.datetime
    """When it was created."""


@dataclasses.dataclass(slots=True, kw_only=True)
class ShipmentDispatched:
    """A shipment left the warehouse."""

    __avro_name__ = "com.example.shipments.ShipmentDispatched"

    tracking_number: str
    """The carrier's tracking number."""

    expected_on: datetime.date
    """Expected delivery date."""

    dispatched_at: datetime.datetime
    """When it left."""


@dataclasses.dataclass(slots=True, kw_only=True)
class ShipmentDelivered:
    """A shipment reached its destination."""

    __avro_name__ = "com.example.shipments.ShipmentDelivered"

    signed_by: str | None = None
    """Who signed for it, if anyone."""

    delivered_at: datetime.datetime
    """When it arrived."""


@dataclasses.dataclass(slots=True, kw_only=True)
class ShipmentKey:
    """Identifies one shipment: every event of a shipment has this key, so its events stay in order on one partition."""

    __avro_name__ = "com.example.shipments.ShipmentKey"

    shipment_id: uuid.UUID
    """Unique shipment identifier."""

    carrier: str
    """The carrier's code, e.g. DHL."""


@dataclasses.dataclass(slots=True, kw_only=True)
class CustomerActivity:
    """One thing a customer did, derived from the order stream by the orders-to-activity pipeline."""

    __avro_name__ = "com.example.activity.CustomerActivity"

    customer_id: str
    """The customer."""

    order_id: str
    """The order this activity comes from."""

    kind: ActivityKind
    """What happened."""

    amount: float
    """The order's total, in the shop's currency."""

    occurred_at: datetime.datetime
    """When the order event happened."""


MODEL: dict[str, type] = {
    "com.example.orders.Order": Order,
    "com.example.orders.OrderStatus": OrderStatus,
    "com.example.payments.PaymentEvent": PaymentEvent,
    "com.example.common.Money": Money,
    "com.example.payments.PaymentMethod": PaymentMethod,
    "com.example.payments.PaymentStatus": PaymentStatus,
    "com.example.common.Address": Address,
    "com.example.customers.CustomerEvent": CustomerEvent,
    "com.example.customers.CustomerEventType": CustomerEventType,
    "com.example.shipments.ShipmentCreated": ShipmentCreated,
    "com.example.shipments.ShipmentDispatched": ShipmentDispatched,
    "com.example.shipments.ShipmentDelivered": ShipmentDelivered,
    "com.example.shipments.ShipmentKey": ShipmentKey,
    "com.example.activity.CustomerActivity": CustomerActivity,
    "com.example.activity.ActivityKind": ActivityKind,
}
