"""HTTP routes other than the webhook: health, metrics (later: pay and reader pages)."""
