"""Stripe: payments, refunds, disputes and subscriptions, and refunds made from the console."""

from providers.stripe.provider import StripeProvider

__all__ = ["StripeProvider"]
