"""The patient form's page for a 30-item questionnaire, rendered on the server.

    .venv/bin/python bench/form.py [--items 30] [--rounds 200]

A fresh SQLite database in a temporary folder gets the Questionnaire (groups of ten items
of six kinds, some with ``enableWhen``) through the same ingest as the API; a form task
stands in for the task table (the join point ``load_task``). Each round is one
``GET /skjema/{token}`` through the whole app in-process (middleware, the link's signature,
the task, the stored Questionnaire, the template), timed from request to full body; then
the page with every field wrong (``POST``, 422). Prints the medians and p95 in ms.
Target: the page in under 200 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def environment(base: Path) -> None:
    os.environ.update(
        {
            "ENVIRONMENT": "test",
            "JWT_SECRET": f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "DATABASE_URL": f"sqlite:///{base / 'form.sqlite3'}",
            "REDIS_URL": "",
            "BROKER_DIR": str(base / "broker"),
            "RATE_LIMIT_LOGIN_PER_MINUTE": "0",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        environment(Path(folder))
        run(args.items, args.rounds)


def run(count: int, rounds: int) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from store.db import migrate
    from store.models import new_id
    from tests.form_samples import many_items
    from usecases.ingest.upload import Caller, ingest
    from usecases.patient_form import FormTaskView, form_link
    from usecases.patient_form import form as form_module
    from usecases.patient_form.items import parse_items, walk

    migrate()
    questionnaire = many_items(count)
    ingest(questionnaire, "Questionnaire", Caller(staff=True, author=True))
    end = dt.datetime.now(dt.UTC) + dt.timedelta(days=14)
    task = FormTaskView(new_id("t"), new_id("p"), questionnaire["url"], "1", end, "ready")
    form_module.load_task = lambda session, task_id: task if task_id == task.task_id else None  # type: ignore[assignment]
    link = form_link(task)
    answerable = [i for i in walk(parse_items(questionnaire)) if i.answerable]
    wrong = {item.field_id: "?" for item in answerable}

    with TestClient(create_app()) as client:
        for _ in range(20):  # warm up: templates compiled, models loaded
            assert client.get(link).status_code == 200
        page = timed(lambda: client.get(link), rounds, 200)
        errors = timed(lambda: client.post(link, data=wrong), rounds, 422)
    print(f"{len(answerable)} questions in {count // 10 or 1} groups, {rounds} rounds each")
    print(f"GET  /skjema/{{token}}  median {median(page):.1f} ms   p95 {p95(page):.1f} ms")
    wrong_line = f"median {median(errors):.1f} ms   p95 {p95(errors):.1f} ms"
    print(f"POST with every field wrong (422)  {wrong_line}")


def timed(call: object, rounds: int, status: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = call()  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == status, response.text[:300]
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


if __name__ == "__main__":
    main()
