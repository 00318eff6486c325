"""The catalog: import of articles and series, and the text rules for showing them in chat."""
