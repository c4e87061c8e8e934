"""Solver backends. Each maps its own status codes onto :class:`optimizer.result.Status`."""
