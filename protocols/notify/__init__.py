"""Out: alarm notification by e-mail (SMTP) and SMS (GSM modem or HTTP gateway)."""
