"""`recovery webhooks`: an operator registers, reads, rotates and deletes endpoints, and
`recovery worker --once` delivers to them, to a real receiver on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import recovery
from recovery.delivery import SIGNATURE_HEADER, verify_signature
from recovery.delivery.testing import WebhookReceiver
from tests.contract.test_delivery import open_loyal_guest
from tests.e2e.test_cli import db, run, run_json  # noqa: F401 (the fixture)


def test_an_operator_manages_endpoints_and_the_worker_delivers_to_them(
    db: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    mail = str(tmp_path / "mail")
    with WebhookReceiver("unknown yet") as hooks:
        made = run_json("webhooks", "add", hooks.url, "--kind", "notify", "--db", db)
        assert made["owner"] == "operator" and made["sites"] is None
        hooks.secret = made["secret"]
        rec = recovery.connect(db)
        try:
            incident = open_loyal_guest(rec)
        finally:
            rec.dispose()
        assert run_json("worker", "--once", "--mail-dir", mail, "--db", db)["delivered"] == 2
        assert len(hooks.accepted()) == 2
        assert {r.json()["incident_id"] for r in hooks.accepted()} == {incident}

        listed = run_json("webhooks", "list", "--db", db)
        assert [e["id"] for e in listed] == [made["id"]] and "secret" not in listed[0]
        log = run_json("webhooks", "deliveries", made["id"], "--db", db)
        assert [a["status_code"] for a in log["items"]] == [200, 200]
        assert "200" in run("webhooks", "deliveries", made["id"], "--db", db).stdout

        message = str(log["items"][0]["message_id"])
        assert "queued" in run("webhooks", "redeliver", made["id"], message, "--db", db).stdout
        rotated = run_json("webhooks", "rotate", made["id"], "--grace", "0", "--db", db)
        hooks.secret = rotated["secret"]
        assert run_json("worker", "--once", "--mail-dir", mail, "--db", db)["delivered"] == 1
        again = hooks.requests[-1]
        assert again.json()["delivery_id"] == int(message)
        header = again.header(SIGNATURE_HEADER)
        assert verify_signature(again.body, rotated["secret"], header)
        assert not verify_signature(again.body, made["secret"], header), "no grace asked"

        assert run_json("webhooks", "delete", made["id"], "--db", db)["deleted_at"]
        assert "no webhook endpoints" in run("webhooks", "list", "--db", db).stdout

    refused = run("webhooks", "add", "ftp://pms.example/x", "--db", db, code=5)
    assert "http:// or https://" in refused.stderr
    unknown = run("webhooks", "rotate", "we_0123456789abcdef", "--db", db, code=4)
    assert "no webhook endpoint" in unknown.stderr
    kind = run("webhooks", "add", "https://pms.example/", "--kind", "book_rom", "--db", db, code=5)
    assert "book_rom" in kind.stderr
