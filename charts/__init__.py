"""Charts of the creator's numbers, drawn on the server with matplotlib: pure computation (numbers in,
PNG or SVG out), no database, no network."""
