"""Publishing over REST, as stream_sea_client.api.publish does (or would)."""
import pytest
from stream_sea_client import define_stream, publish

from wire import definition, every_type_fields, every_type_payload, publish_like_client


def test_client_publish_is_broken(server, stream):
    # stream_sea_client 0.7.0 builds the URL from api_base_url, a name that does
    # not exist (the variable is api_base_uri): publish raises before sending.
    with pytest.raises(NameError, match="api_base_url"):
        publish(**server, stream=stream, payload={"text": "never sent"})


def test_publish_to_stream_without_schema(server, stream):
    status, body = publish_like_client(server, stream, {"anything": [1, "two"]})
    assert status == 200, body


def test_publish_matching_schema(server, stream):
    assert define_stream(**server, stream=stream, schema=definition(stream, 1, every_type_fields())).status_code == 200
    status, body = publish_like_client(server, stream, every_type_payload(1))
    assert status == 200, body


def test_publish_batch_matching_schema(server, stream):
    assert define_stream(**server, stream=stream, schema=definition(stream, 1, every_type_fields())).status_code == 200
    status, body = publish_like_client(server, stream, [every_type_payload(i) for i in range(3)])
    assert status == 200, body


@pytest.mark.parametrize("field,value", [
    ("count", "seven"),          # integer field, string value
    ("count", 1.5),              # integer field, fractional number
    ("at", "2024-03-01"),        # date without time
    ("side", "bow"),             # not one of the enum values
    ("tags", "a"),               # array<string> field, plain string
    ("vessel", {"imo": 7, "length": 1.0}),  # nested field of the wrong type
])
def test_publish_not_matching_schema_is_400_with_errors(server, stream, field, value):
    assert define_stream(**server, stream=stream, schema=definition(stream, 1, every_type_fields())).status_code == 200
    payload = every_type_payload(1)
    payload[field] = value
    status, body = publish_like_client(server, stream, payload)
    assert status == 400
    assert body["message"]
    assert any(field in problem for problem in body.get("errors", [])), body


def test_publish_batch_with_one_bad_element_is_rejected_whole(server, stream):
    assert define_stream(**server, stream=stream, schema=definition(stream, 1, every_type_fields())).status_code == 200
    bad = every_type_payload(2)
    bad["count"] = "two"
    status, body = publish_like_client(server, stream, [every_type_payload(1), bad])
    assert status == 400, body


def test_publish_with_wrong_secret_is_401(server, stream):
    status, body = publish_like_client(server, stream, {"a": 1}, client_secret="not-the-secret")
    assert status == 401
    assert body["message"]
