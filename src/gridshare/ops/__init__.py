"""What an operator watches: health and readiness, Prometheus metrics, request ids and JSON
logs, and running several worker processes as one server."""
