"""The litestar HTTP API. ``api.app.create_app`` is its single composition root."""
