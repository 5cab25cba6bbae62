"""JSON error responses of the API: {"error": {"status": 404, "message": "..."}}."""

from __future__ import annotations

from quart import jsonify


def json_error(status: int, message: str):
    """An error a client can show as it is: the message says what is wrong and where."""
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="btms"'
    return response
