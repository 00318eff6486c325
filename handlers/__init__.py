"""The WeChat edge: the webhook view, the per-message pipeline and the WeRoBot handlers."""
