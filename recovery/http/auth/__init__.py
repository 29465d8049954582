"""Who is calling, for both faces of the app: `deps` reads the presented token (bearer or
session cookie) and checks the role's permission; `routes` signs people in and out
(/auth), `admin` manages users and API tokens (/admin). Accounts themselves, principals
and secrets are the service's (`recovery.service.accounts`)."""
