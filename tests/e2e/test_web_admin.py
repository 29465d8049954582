"""Users and API tokens managed in the browser by an admin, over HTTP on a real server:
what each form changes is what signing in (or calling the API) then finds; other roles
get a 403 page and change nothing; bad input and a missing CSRF token are refused."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog
from recovery.letters.mailers import FileMailer
from recovery.service.notice_mail import NoticeMailer
from recovery.service.notifications import Notifier
from tests.e2e.test_web import act, open_hotel
from tests.e2e.test_web_helpers import PASSWORD, Person, Site, csrf_of, running_site, text_of


@pytest.fixture
def lite(catalog: Catalog, sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:
        yield running


def sign_in_status(site: Site, username: str, password: str = PASSWORD) -> int:
    http = site.client()
    form = http.get("/login")
    return http.post(
        "/login",
        data={"csrf": csrf_of(form.text), "username": username, "password": password},
    ).status_code


def admin_on(site: Site, page: str) -> Person:
    admin = site.signed_in("root")
    assert admin.get(page).status_code == 200
    return admin


def row_text(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return text_of(found[1])


def test_an_admin_lists_adds_disables_and_enables_users(lite: Site) -> None:
    admin = admin_on(lite, "/web/admin/users")
    assert "front desk" in row_text(admin.page, "user-ana")
    assert "ribe" in row_text(admin.page, "user-ana")
    assert "every property" in row_text(admin.page, "user-aud")

    added = admin.post(
        "/web/admin/users",
        {"username": "nora", "password": "a long password", "role": "manager", "sites": "ribe"},
    )
    listed = admin.follow(added).text
    assert "User nora added." in text_of(listed)
    assert "manager" in row_text(listed, "user-nora")
    assert sign_in_status(lite, "nora", "a long password") == 303

    listed = admin.follow(admin.post("/web/admin/users/nora/disable")).text
    assert "disabled" in row_text(listed, "user-nora")
    assert sign_in_status(lite, "nora", "a long password") == 401

    listed = admin.follow(admin.post("/web/admin/users/nora/enable")).text
    assert "active" in row_text(listed, "user-nora")
    assert sign_in_status(lite, "nora", "a long password") == 303


def test_disabling_a_user_ends_their_open_session(lite: Site) -> None:
    desk = lite.signed_in("ana")
    assert desk.get("/").status_code == 200
    admin = admin_on(lite, "/web/admin/users")
    admin.follow(admin.post("/web/admin/users/ana/disable"))
    assert desk.get("/").status_code == 303  # back to the sign-in page


def test_an_admin_resets_a_password(lite: Site) -> None:
    admin = admin_on(lite, "/web/admin/users")
    done = admin.follow(admin.post("/web/admin/users/ana/password", {"password": "new secret!"}))
    assert "The password of ana is set." in text_of(done.text)
    assert sign_in_status(lite, "ana", PASSWORD) == 401
    assert sign_in_status(lite, "ana", "new secret!") == 303


@pytest.mark.parametrize(
    ("form", "says"),
    [
        (
            {"username": "x y", "password": "long enough", "role": "manager", "sites": "ribe"},
            "username",
        ),
        (
            {"username": "nora", "password": "short", "role": "manager", "sites": "ribe"},
            "at least 8",
        ),
        (
            {"username": "nora", "password": "long enough", "role": "owner", "sites": "ribe"},
            "role 'owner'",
        ),
        (
            {"username": "nora", "password": "long enough", "role": "manager", "sites": ""},
            "properties",
        ),
        (
            {"username": "ana", "password": "long enough", "role": "manager", "sites": "ribe"},
            "already",
        ),
    ],
)
def test_a_bad_new_user_is_refused_with_the_reason(
    lite: Site, form: dict[str, str], says: str
) -> None:
    admin = admin_on(lite, "/web/admin/users")
    refused = admin.post("/web/admin/users", form)
    assert refused.status_code in (400, 422)
    assert says in text_of(refused.text)
    names = [u.username for u in lite.app.state.ctx.accounts.list_users()]
    assert sorted(names) == ["ana", "aud", "mads", "root", "vera"]


def test_an_admin_cannot_disable_their_own_account(lite: Site) -> None:
    admin = admin_on(lite, "/web/admin/users")
    assert admin.post("/web/admin/users/root/disable").status_code == 400
    assert sign_in_status(lite, "root") == 303


def test_a_token_secret_is_shown_once_and_works_until_revoked(lite: Site) -> None:
    admin = admin_on(lite, "/web/admin/tokens")
    created = admin.post(
        "/web/admin/tokens", {"name": "pms", "role": "integration", "sites": "ribe"}
    )
    assert created.status_code == 200
    found = re.search(r'id="new-secret" type="text" readonly value="([^"]+)"', created.text)
    assert found
    secret = html.unescape(found[1])
    bearer = {"Authorization": f"Bearer {secret}"}
    api = lite.client()
    assert api.get("/incidents", headers=bearer).status_code == 200

    again = admin.get("/web/admin/tokens").text
    assert secret not in again  # only its hash is kept
    token_id = re.search(r'<tr id="token-([^"]+)">', again)
    assert token_id
    assert "pms" in row_text(again, f"token-{token_id[1]}")

    revoked = admin.follow(admin.post(f"/web/admin/tokens/{token_id[1]}/revoke")).text
    assert "Token pms revoked." in text_of(revoked)
    assert "revoked" in row_text(revoked, f"token-{token_id[1]}")
    assert api.get("/incidents", headers=bearer).status_code == 401


def test_other_roles_get_a_403_page_and_change_nothing(lite: Site) -> None:
    manager = lite.signed_in("mads")
    manager.get("/")  # a page with the manager's CSRF token
    for path in ("/web/admin/users", "/web/admin/tokens"):
        page = manager.get(path)
        assert page.status_code == 403
        assert "Not for your role" in text_of(page.text)
    manager.get("/web/notifications")
    attempts = {
        "/web/admin/users": {
            "username": "eve",
            "password": "long enough",
            "role": "admin",
            "sites": "*",
        },
        "/web/admin/tokens": {"name": "eve", "role": "admin", "sites": "*"},
        "/web/admin/users/ana/disable": {},
        "/web/admin/users/ana/password": {"password": "taken over!"},
    }
    for path, form in attempts.items():
        manager.get("/web/notifications")
        assert manager.post(path, form).status_code == 403, path
    accounts = lite.app.state.ctx.accounts
    assert accounts.user("eve") is None
    assert accounts.list_tokens() == []
    assert sign_in_status(lite, "ana") == 303
    assert "Users and tokens" not in manager.get("/web/notifications").text


def test_an_admin_form_without_its_csrf_token_changes_nothing(lite: Site) -> None:
    admin = admin_on(lite, "/web/admin/users")
    response = admin.http.post("/web/admin/users/ana/disable", data={"csrf": "not the token"})
    assert response.status_code == 403
    assert sign_in_status(lite, "ana") == 303
    assert "Users and tokens" in admin.get("/").text  # the admin's header links here


def test_notifications_by_email_are_set_by_the_person_and_by_an_admin(lite: Site) -> None:
    admin = admin_on(lite, "/web/admin/users")
    bad = admin.post("/web/admin/users/mads/email", {"email": "mads at hotel"})
    assert bad.status_code == 422 and "not an e-mail address" in text_of(bad.text)
    admin.get("/web/admin/users")
    done = admin.post(
        "/web/admin/users/mads/email", {"email": "mads@hotel.example", "notify_by_email": "1"}
    )
    assert "notifications are mailed to them" in text_of(admin.follow(done).text)
    mads = lite.signed_in("mads")
    page = mads.get("/web/notifications").text
    assert 'value="mads@hotel.example"' in page and "checked" in page
    desk = lite.signed_in("ana")
    desk.get("/web/notifications")
    own = desk.follow(
        desk.post("/web/notifications/email", {"email": "ana@hotel.example"})
    ).text  # an address, not asked to mail
    assert 'value="ana@hotel.example"' in own
    iid = open_hotel(desk)
    act(desk, iid, "steps/pay_room/request_approval", {"amount": "450", "reason": "Suite"})
    Notifier(lite.rec).tell(iid)
    sent = NoticeMailer(lite.rec, FileMailer(lite.mail_dir)).deliver_due()
    assert (sent.digests, sent.mailed) == (1, 1)
    (mail,) = lite.mail_dir.glob("notices-*.eml")
    assert "To: mads@hotel.example" in mail.read_text()
    assert "mailed" in text_of(mads.get("/web/notifications").text)
