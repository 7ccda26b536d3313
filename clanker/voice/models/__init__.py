"""The voice brain's models: local (default, no key) behind the protocols in `base`."""
