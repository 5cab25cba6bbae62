"""Browser log-in sessions: the server-side session table, CSRF tokens and the log-in throttle."""
