"""The `btms` command: composes the packages below it into the gateway's user-facing commands."""
