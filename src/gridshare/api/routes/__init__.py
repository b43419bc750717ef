"""Customer API routers, one per resource."""
