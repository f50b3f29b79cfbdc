"""What runs jobs: the worker runtime, its middleware and the task bodies."""
