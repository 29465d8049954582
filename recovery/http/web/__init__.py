"""The web thin client: the page front-desk staff, managers, auditors and customers use,
served by the engine itself (server-rendered HTML, a little JavaScript, nothing to install).

Pages (all HTML; the JSON API keeps its own paths):

    /login, /logout                      sign in and out (the API's session cookie)
    /                                    the board: open incidents, nearest deadline first
    /web/incidents/new                   open an incident (keyboard first)
    /web/incidents/{id}                  the checklist of every step, actions, timeline
    /web/incidents/{id}/letters/{step}   a written step's letter, print-friendly
    /web/audit, /web/audit/{id}          state as of any moment, hash-chain check, exports
    /web/reports, /web/reports.csv       how recovery is delivered, by date range and week
    /web/admin/users, /web/admin/tokens  users and API tokens (admins)
    /web/playbooks, /web/playbooks/{id}  each playbook's steps and state diagrams
    /status/{token}                      the customer's status page (no sign-in)

`recovery.http.web.app.install(app)` adds them to the app (`recovery.http.create_app` does).
"""
