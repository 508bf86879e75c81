"""What the stream-sea-client 0.7.0 sends, rebuilt where the client cannot send it.

publish_like_client sends a publish exactly as stream_sea_client.api.publish
would if it ran: the same URL, the same four headers and the same gzip body
(the client's publish fails before sending, see test_publish.py).
"""
import copy
import gzip
import json
import urllib.error
import urllib.request
from base64 import b64encode

from stream_sea_client import SchemaDefinition


def base_url(server):
    return "http://%s:%d/api/v1" % (server["remote_host"], server["remote_port"])


def client_headers(client_id, client_secret):
    """The headers of stream_sea_client.api.__get_default_headers, verbatim."""
    token = b64encode(("%s:%s" % (client_id, client_secret)).encode("utf-8")).decode("utf-8")
    return {
        "Content-encoding": "gzip",
        "Content-type": "application/json",
        "Accept": "application/json",
        "Authorization": "Basic %s" % token,
    }


def publish_like_client(server, stream, payload, client_secret=None):
    """POST {"payload": payload} gzip-compressed; returns (status, decoded JSON body or None)."""
    secret = server["client_secret"] if client_secret is None else client_secret
    body = gzip.compress(json.dumps({"payload": payload}).encode("utf-8"))
    request = urllib.request.Request(
        "%s/streams/%s/publish" % (base_url(server), stream),
        data=body,
        headers=client_headers(server["client_id"], secret),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _json_or_none(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json_or_none(error.read())


def _json_or_none(data):
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:
        return None


def canonical_fields(fields):
    """Fields as an order-free value: stream-sea treats fields as an unordered set."""
    out = []
    for field in fields:
        item = {k: v for k, v in field.items() if k != "fields"}
        if "enum" in item:
            item["enum"] = sorted(item["enum"])
        if "fields" in field:
            item["fields"] = canonical_fields(field["fields"])
        out.append(json.dumps(item, sort_keys=True))
    return sorted(out)


def every_type_fields():
    """One field of each of the eleven stream-sea field types, nested ones included."""
    return [
        {"name": "text", "type": "string"},
        {"name": "ratio", "type": "float"},
        {"name": "count", "type": "integer"},
        {"name": "at", "type": "date"},
        {"name": "tags", "type": "array<string>"},
        {"name": "ratios", "type": "array<float>"},
        {"name": "counts", "type": "array<integer>"},
        {"name": "ats", "type": "array<date>"},
        {"name": "side", "type": "enum", "enum": ["starboard", "port"]},
        {"name": "vessel", "type": "object", "fields": [
            {"name": "imo", "type": "string"},
            {"name": "length", "type": "float"},
        ]},
        {"name": "moves", "type": "array<object>", "fields": [
            {"name": "load", "type": "string"},
            {"name": "weight", "type": "integer"},
        ]},
    ]


def every_type_payload(i):
    """A payload that matches every_type_fields, numbered i."""
    return {
        "text": "message %d" % i,
        "ratio": 0.5 + i,
        "count": i,
        "at": "2024-03-01T12:00:%02dZ" % (i % 60),
        "tags": ["a", "b"],
        "ratios": [1.5, 2],
        "counts": [1, 2, 3],
        "ats": ["2024-03-01T00:00:00Z"],
        "side": "port",
        "vessel": {"imo": "IMO9321483", "length": 399.9},
        "moves": [{"load": "containers", "weight": 12}],
    }


def definition(stream, version, fields):
    """A SchemaDefinition with a copy of fields. Always pass fields: the
    client's default fields=[] is one list shared by every instance."""
    return SchemaDefinition(stream, version, copy.deepcopy(fields))
