"""Use cases of the service, shared by the HTTP API, the CLI and other Python code."""
