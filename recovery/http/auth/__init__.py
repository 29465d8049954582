"""Who is calling, for both faces of the app: `deps` reads the presented token (bearer or
session cookie) and checks the role's permission. Accounts themselves, principals and
secrets are the service's (`recovery.service.accounts`); signing in over JSON and managing
accounts are routes of the JSON face (`recovery.http.api.sessions`, `.admin`)."""
