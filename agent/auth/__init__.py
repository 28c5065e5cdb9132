"""Authentication for the agent: the kiosk technician PIN (scrypt) and, later, online sign-in."""
