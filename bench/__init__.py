"""Benchmarks of queue-service, beside the product and never shipped in its wheel.

Run one with `python -m bench enqueue|drain|http|metrics|overview [options]`
(or its `make bench-*` target), with `DATABASE_URL` pointing at a server where
the role may create databases: each benchmark works in its own scratch
database (`bench.scratch_db`), so a live queue is never touched. `bench` may
import `app` and `workers`; they never import `bench` (import-linter).
"""
