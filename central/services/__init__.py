"""Services: the rules behind the views and the CLI. They take a session and return rows or
plain data; they never read ``request`` or ``g``, so the CLI and tests call them directly."""
