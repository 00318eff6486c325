"""HTTP routes other than the webhook: the H5 pages (pay, reader, share), health, and their common rules:
security headers (security.py), checked inputs (inputs.py), templates with the CSP nonce (render.py)."""
