"""Calculated attributes and the record IDE over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

A = "/api/projects/cb/attributes"
CODE = "def n(record):\n    print('hi')\n    return len(record['headline'])\n"


def test_add_try_run_patch_delete(cb_client: TestClient) -> None:
    added = cb_client.post(A, json={"name": "n", "data_type": "integer", "code": CODE})
    assert added.status_code == 201 and added.json()["state"] == "new"
    assert (
        cb_client.post(A, json={"name": "n", "data_type": "integer", "code": CODE}).status_code
        == 409
    )
    tried = cb_client.post(f"{A}/n/try", json={"n": 3, "seed": 2}).json()
    assert tried["error"] is None
    assert [(r["output"], r["error"]) for r in tried["results"]] == [("hi\n", None)] * 3
    unsaved = cb_client.post(
        f"{A}/n/try", json={"record_ids": [1], "code": "def f(r):\n    return []\n"}
    )
    assert unsaved.json()["results"][0]["error"] == "returned list [], not a number (integer)"
    job = cb_client.post(f"{A}/n/run", params={"wait": "true"}).json()
    assert job["status"] == "done" and job["result"]["records"] == 1400
    project = cb_client.get("/api/projects/cb").json()
    assert project["attributes"][-1]["calculated"] is True
    page = cb_client.post(
        "/api/projects/cb/records/query", json={"order_by": "n", "descending": True, "limit": 1}
    ).json()
    assert page["records"][0]["data"]["n"] >= 1
    patched = cb_client.patch(f"{A}/n", json={"code": CODE + "\n"}).json()
    assert (patched["code_version"], patched["state"]) == (2, "stale")
    assert cb_client.get(A).json()[0]["name"] == "n"
    assert cb_client.get(f"{A}/headline").status_code == 422
    assert cb_client.delete(f"{A}/n").status_code == 204
    assert cb_client.get(f"{A}/n").status_code == 404


def test_record_ide(cb_client: TestClient) -> None:
    ran = cb_client.post(
        "/api/projects/cb/records/running_id=5/run",
        json={"code": "print(record['running_id'])\ndef ide(record):\n    return 2 * 21\n"},
    ).json()
    assert (ran["output"], ran["value"], ran["error"]) == ("5\n", "42", None)
    assert ran["previous_id"] == ran["record_id"] - 1 and ran["next_id"] == ran["record_id"] + 1
    failed = cb_client.post("/api/projects/cb/records/1/run", json={"code": "1/0"}).json()
    assert failed["error"] == "ZeroDivisionError: division by zero"
    assert 'File "<ide>", line 1' in failed["traceback"]
    assert (
        cb_client.post("/api/projects/cb/records/99999/run", json={"code": ""}).status_code == 404
    )
