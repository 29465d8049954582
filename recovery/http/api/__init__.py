"""The JSON face of the HTTP app: incidents (every command and query), playbooks, reports,
their request and response schemas and the OpenAPI examples. `recovery.http.app` mounts it."""
