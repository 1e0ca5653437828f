"""Authentication and authorisation: accounts (PAM and the built-in admin), JWT tokens, login
throttling, and the privilege table that guards every route."""
