"""JSON error responses of the API: {"error": {"status": 404, "message": "..."}}."""

from __future__ import annotations

from quart import jsonify


def json_error(status: int, message: str, retry_after_s: int | None = None):
    """An error a client can show as it is: the message says what is wrong and where.

    retry_after_s: for 429 and 503, the whole seconds a client should wait (Retry-After).
    """
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="btms"'
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(max(1, int(retry_after_s)))
    return response
