"""Publishing and promoting from the page "Prøv endring", on both backends: a replayed draft
published as shadow is then offered as "the shadow version", whose report page promotes it
to the version in force; published as active it is in force at once; the API's refusals
(a version not above the newest, no shadow version to promote) are shown on the page with
the API's status; each change is audited under the author's name, as the API audits it."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import col, select

from runtime.settings import get_settings
from store.db import session_scope
from store.models import AuditEvent
from tests.integration.api_rows import headers
from tests.integration.test_web_pages_replay import sign_in, submit
from tests.integration.web_helpers import visible_text
from usecases.replay import jobs


def in_force(client: TestClient, pathway: str) -> int:
    answer = client.get(f"/api/pathways/{pathway}", headers=headers("author"))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["version"])


def draft(pathway: str, version: int) -> str:
    """The pathway's file at ``version``, changed (a comment) so it is never the same text."""
    text = (Path(get_settings().rules_dir) / f"{pathway}.yaml").read_text(encoding="utf-8")
    return text.replace("\nversion: 1\n", f"\nversion: {version}\n") + "# utkast\n"


def replayed(client: TestClient, pathway: str, version: int) -> str:
    """The URL of a done replay job of ``pathway``'s file at ``version``."""
    answer = submit(client, pathway, draft(pathway, version), period="P30D")
    assert answer.status_code == 303, answer.text
    url: str = answer.headers["location"]
    assert jobs.run(url.rsplit("/", 1)[1]) == "done"
    return url


def audited(action: str, pathway: str) -> list[dict[str, object]]:
    with session_scope() as session:
        rows = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.action) == action, col(AuditEvent.target) == f"pathway/{pathway}"
            )
        ).all()
        return [{"actor": r.actor, **(r.detail or {})} for r in rows]


def test_published_as_shadow_then_promoted_from_the_page(client: TestClient) -> None:
    sign_in(client)
    version = in_force(client, "heart-failure") + 1
    url = replayed(client, "heart-failure", version)
    published = client.post(f"{url}/publish", data={"mode": "shadow"}, follow_redirects=False)
    assert published.status_code == 303, published.text
    shown = visible_text(client.get(published.headers["location"]).text)
    assert f"Publisert som versjon {version} (skyggeversjon, ikke i bruk)." in shown
    assert in_force(client, "heart-failure") == version - 1
    assert any(e["version"] == version for e in audited("pathway.publish", "heart-failure"))

    form = client.get("/app/replay?pathway=heart-failure").text
    assert f"Skyggeversjonen v{version}" in form
    picked = client.post(
        "/app/replay",
        data={"pathway": "heart-failure", "source": "shadow", "text": ""},
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert picked.headers["location"] == "/app/replay/heart-failure/shadow"
    page = client.get("/app/replay/heart-failure/shadow")
    assert page.status_code == 200
    assert f"Skyggeversjonen v{version} av heart-failure" in visible_text(page.text)
    assert 'id="matrix"' in page.text and "Gjør skyggeversjonen aktiv" in page.text

    promoted = client.post("/app/replay/heart-failure/promote", follow_redirects=False)
    assert promoted.status_code == 303, promoted.text
    assert promoted.headers["location"].startswith("/app/pathways")
    assert in_force(client, "heart-failure") == version
    promotions = audited("pathway.promote", "heart-failure")
    assert [(e["actor"], e["version"]) for e in promotions] == [("author:page", version)]
    # Nothing left to promote: the API's 409, as a page.
    again = client.post("/app/replay/heart-failure/promote", follow_redirects=False)
    assert again.status_code == 409
    assert client.get("/app/replay/heart-failure/shadow").status_code == 404


def test_published_as_active_is_in_force_at_once(client: TestClient) -> None:
    sign_in(client)
    version = in_force(client, "copd") + 1
    url = replayed(client, "copd", version)
    published = client.post(f"{url}/publish", data={"mode": "active"}, follow_redirects=False)
    assert published.status_code == 303, published.text
    assert "(aktiv)" in visible_text(client.get(published.headers["location"]).text)
    assert in_force(client, "copd") == version


def test_a_refused_publish_is_shown_on_the_report_with_the_api_status(
    client: TestClient,
) -> None:
    sign_in(client)
    same = in_force(client, "diabetes-cgm")  # another text, not above the newest: 409
    url = replayed(client, "diabetes-cgm", same)
    refused = client.post(f"{url}/publish", data={"mode": "active"}, follow_redirects=False)
    assert refused.status_code == 409, refused.text
    text = html.unescape(visible_text(refused.text))
    assert "Ikke publisert:" in text and f"raise 'version' to {same + 1}" in text
    assert 'id="matrix"' in refused.text  # still the report, with the refusal on it
    assert in_force(client, "diabetes-cgm") == same
    assert client.post(f"{url}/publish", data={"mode": "other"}).status_code == 422
