"""Authentication and authorisation of API callers: principals, roles, secrets, accounts."""

from recovery.api.auth.accounts import Accounts
from recovery.api.auth.principal import GRANTS, ROLES, Permission, Principal

__all__ = ["GRANTS", "ROLES", "Accounts", "Permission", "Principal"]
