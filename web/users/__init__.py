"""People who log in to the browser UI: their roles, password hashes and contact details."""
