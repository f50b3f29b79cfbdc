"""queue-service: a Postgres-native job queue service."""
