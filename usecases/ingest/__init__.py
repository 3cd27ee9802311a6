"""A patient app's upload: checked, authorized, stored with its outbox row in one
transaction, and handed to the worker after the commit."""
