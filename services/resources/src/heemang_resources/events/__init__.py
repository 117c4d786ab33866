"""What resources consumes (handlers.py); what it publishes is staged by the services."""
