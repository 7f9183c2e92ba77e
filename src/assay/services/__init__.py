"""Services: the business logic, one module per capability.

The API, the CLI and the Python facade call these functions; nothing else touches storage.
"""
