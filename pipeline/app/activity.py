"""The shipped transform: what a customer did, derived from each order (the ``orders-to-activity``
pipeline in ``schemas/catalog.toml``)."""

from __future__ import annotations

from pipeline.generated.types import ActivityKind, CustomerActivity, Order

__all__ = ["order_activity"]

_KIND = {
    "PENDING": ActivityKind.ORDER_PLACED,
    "CONFIRMED": ActivityKind.ORDER_CONFIRMED,
    "SHIPPED": ActivityKind.ORDER_SHIPPED,
    "DELIVERED": ActivityKind.ORDER_DELIVERED,
}


def order_activity(order: Order) -> tuple[str, CustomerActivity]:
    """The customer's activity for one order event, keyed by the customer (so each customer's activity
    stays in order on one partition)."""
    activity = CustomerActivity(
        customer_id=order.customer_id,
        order_id=order.order_id,
        kind=_KIND[order.status.name],
        amount=order.amount,
        occurred_at=order.created_at,
    )
    return order.customer_id, activity
