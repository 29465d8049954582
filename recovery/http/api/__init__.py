"""The JSON face of the HTTP app: incidents (every command and query), playbooks, reports,
sessions (/auth) and administration (/admin), their request and response schemas and the
OpenAPI examples. `recovery.http.app` mounts it."""
