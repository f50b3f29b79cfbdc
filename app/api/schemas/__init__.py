"""Request and response bodies, one module per resource.

Each module sits beside its controller (`app/api/controllers/<resource>.py`);
`base` holds the one base class every body derives from.
"""
