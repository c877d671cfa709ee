"""HTTP routes, one module per resource; each handler only translates to a service call."""
