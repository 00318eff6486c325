"""Payments: settling orders exactly once from notifications, queries and closes (DESIGN: "Orders,
payments, unlock"). Gateways do the network; store does the conditional updates; this package decides."""
