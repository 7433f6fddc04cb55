import base64
import hashlib
import os
import uuid

API_URL = "https://api.example.com/v2"
TOKEN_ENV = "SERVICE_TOKEN"


class SecretProvider:
    """Reads credentials from the environment; never hard-codes them."""

    def __init__(self, env=os.environ):
        self.token = env.get(TOKEN_ENV, "")
        self.password = env.get("DB_PASSWORD")
        self.api_key = None

    def digest(self, payload: bytes) -> str:
        return hashlib.sha256(payload).hexdigest()

    def request_id(self) -> str:
        return str(uuid.uuid4())

    def encode(self, text: str) -> str:
        return base64.b64encode(text.encode()).decode()


def test_password_reset(client):
    response = client.post("/reset", json={"email": "user@example.com"})
    assert response.status_code == 202
    secret = get_secret_from_vault("db/primary")
    assert secret is not None
