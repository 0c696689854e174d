"""The emulator speaks the real wire format: the official OpenAI client reads it."""

import openai
import pytest
import requests

from analytics_assets_tests.api_emulator import ApiEmulator, day, generate_data
from analytics_assets_tests.api_emulator.data import BATCH_STATUSES
from analytics_assets_tests.conftest import API_KEY


@pytest.fixture
def client(emulator: ApiEmulator) -> openai.OpenAI:
    return openai.OpenAI(api_key=API_KEY, base_url=f"{emulator.url}/v1", max_retries=0)


def test_the_openai_client_lists_models(client, emulator_data):
    assert sorted(m.id for m in client.models.list()) == sorted(
        m["id"] for m in emulator_data.models
    )


def test_the_openai_client_auto_paginates_files_newest_first(client, emulator, emulator_data):
    files = list(client.files.list(limit=25))

    newest_first = sorted(
        emulator_data.files, key=lambda f: (f["created_at"], f["id"]), reverse=True
    )
    assert [f.id for f in files] == [f["id"] for f in newest_first]
    assert [f.created_at for f in files] == [f["created_at"] for f in newest_first]
    assert len(emulator.requests_to("/v1/files")) == -(-len(files) // 25)


def test_the_openai_client_lists_batches(client, emulator_data):
    batches = list(client.batches.list(limit=100))

    assert sorted(b.id for b in batches) == sorted(b["id"] for b in emulator_data.batches)
    assert {b.status for b in batches} <= set(BATCH_STATUSES)


def test_a_wrong_key_is_refused_with_401_in_the_error_envelope(emulator):
    response = requests.get(
        f"{emulator.url}/v1/files", headers={"Authorization": "Bearer nope"}, timeout=5
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("path", "limit"), [("/v1/files", "10001"), ("/v1/files", "0"), ("/v1/batches", "101")]
)
def test_a_limit_out_of_bounds_is_a_400_naming_the_param(emulator, path, limit):
    response = requests.get(
        f"{emulator.url}{path}",
        params={"limit": limit},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"


def test_files_can_be_read_oldest_first(emulator, emulator_data):
    response = requests.get(
        f"{emulator.url}/v1/files",
        params={"limit": 5, "order": "asc"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=5,
    )

    oldest = sorted(emulator_data.files, key=lambda f: (f["created_at"], f["id"]))[:5]
    assert [f["id"] for f in response.json()["data"]] == [f["id"] for f in oldest]
    assert response.json()["has_more"] is True


def test_connections_are_kept_alive(emulator):
    with requests.Session() as session:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        first = session.get(f"{emulator.url}/v1/models", headers=headers, timeout=5)
        second = session.get(f"{emulator.url}/v1/models", headers=headers, timeout=5)

    assert first.status_code == second.status_code == 200
    assert emulator.connections == 1


def test_the_same_seed_gives_the_same_records_and_another_seed_does_not():
    def make(seed: int):
        return generate_data(
            start=day("2024-03-01"), days=3, files=40, batches=20, models=4, seed=seed
        )

    assert make(3) == make(3)
    assert make(3).files != make(4).files
    created = sorted(f["created_at"] for f in make(3).files)
    assert created[0] >= day("2024-03-01").timestamp()
    assert created[-1] < day("2024-03-04").timestamp()
