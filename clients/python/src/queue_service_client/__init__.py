"""A typed client for queue-service."""
