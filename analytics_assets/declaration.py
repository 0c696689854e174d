"""Reads the seed-shaped declaration (`resources_spec.py`) into checked, typed parts.

Every key is known: an unknown key, an unsupported `type`, a template naming a setting or a
partition field that nothing fills fails here, when definitions load, with an error that names
the resource and the key.
"""

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SETTING_NAMES = frozenset({"api_key", "base_url", "start_date", "limit"})
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
UNIX_SECONDS_FORMAT = "%s"

_SETTING_TEMPLATE = re.compile(r"^\{\{\s*config\[\s*'(?P<name>\w+)'\s*\]\s*\}\}$")
_PARTITION_TEMPLATE = re.compile(r"\{\{\s*stream_partition\[\s*'(?P<field>\w+)'\s*\]\s*\}\}")
_ANY_TEMPLATE = re.compile(r"\{\{.*?\}\}")

# The seed's field types (JSON Schema names) and the dlt column types they land as.
FIELD_TYPES = {
    "string": "text",
    "integer": "bigint",
    "number": "double",
    "boolean": "bool",
    "object": "json",
    "array": "json",
}
WRITE_DISPOSITIONS = frozenset({"merge", "append", "replace"})
PAGINATOR_TYPES = frozenset({"cursor", "single_page"})

_TOP_KEYS = {"client", "resource_defaults", "error_handler", "resources", "schema"}
_CLIENT_KEYS = {"base_url", "auth", "paginator"}
_AUTH_KEYS = {"type", "token"}
_PAGINATOR_KEYS = {"type", "cursor_path", "cursor_param", "has_more_path"}
_ERROR_HANDLER_KEYS = {"type", "retry_statuses", "max_retries", "backoff_factor"}
_DEFAULT_KEYS = {"primary_key", "write_disposition", "owners", "tags"}
_RESOURCE_KEYS = {
    "name",
    "description",
    "endpoint",
    "incremental_sync",
    "partition_router",
    "primary_key",
    "write_disposition",
    "owners",
    "tags",
}
_ENDPOINT_KEYS = {"path", "data_selector", "params", "paginator", "limit_max"}
_INCREMENTAL_KEYS = {
    "type",
    "cursor_field",
    "start_datetime",
    "datetime_format",
    "cursor_datetime_formats",
    "is_data_feed",
}
_ROUTER_KEYS = {"type", "parent_stream_configs"}
_PARENT_KEYS = {"stream", "parent_key", "partition_field"}
_SCHEMA_KEYS = {"primary_key", "fields"}
_TAG_KEY = re.compile(r"([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}")
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.-]{0,63}")


class DeclarationError(ValueError):
    """The declaration holds a key, type or template this project does not support."""


@dataclass(frozen=True)
class Paginator:
    """How a list endpoint pages: `cursor` (after=<last_id> until has_more) or `single_page`."""

    type: str
    cursor_path: str | None = None
    cursor_param: str | None = None
    has_more_path: str | None = None


@dataclass(frozen=True)
class IncrementalSync:
    """A datetime cursor: which record field holds the time and whether pages run newest first."""

    cursor_field: str
    start_datetime: str
    is_data_feed: bool


@dataclass(frozen=True)
class ParentStream:
    """Fills `partition_field` of a child's path from `parent_key` of each `stream` record."""

    stream: str
    parent_key: str
    partition_field: str


@dataclass(frozen=True)
class Column:
    """One declared field: its declared JSON type, its dlt data type, and whether it may be null."""

    name: str
    json_type: str
    data_type: str
    nullable: bool


@dataclass(frozen=True)
class ResourceDeclaration:
    """One API resource, as the rest of the project needs it."""

    name: str
    description: str | None
    path: str
    data_selector: str
    params: Mapping[str, Any]
    limit_max: int | None
    paginator: Paginator
    primary_key: str
    write_disposition: str
    incremental: IncrementalSync | None
    parent: ParentStream | None
    columns: tuple[Column, ...]
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def is_list(self) -> bool:
        """True for resources read from a list endpoint, False for per-parent-record ones."""
        return self.parent is None


@dataclass(frozen=True)
class RetryPolicy:
    """The spec's retry policy: statuses retried, retries after the first try, backoff factor."""

    retry_statuses: tuple[int, ...]
    max_retries: int
    backoff_factor: float


@dataclass(frozen=True)
class ApiDeclaration:
    """The whole declaration: client, retry policy and resources in declaration order."""

    base_url: str
    token: str
    retry: RetryPolicy
    resources: tuple[ResourceDeclaration, ...]

    def resource(self, name: str) -> ResourceDeclaration:
        """Return the resource called `name`."""
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(name)


def setting_name(value: Any) -> str | None:
    """Return the setting a `{{ config['name'] }}` value refers to, or None for a literal."""
    if not isinstance(value, str):
        return None
    match = _SETTING_TEMPLATE.match(value)
    return match.group("name") if match else None


def partition_fields(path: str) -> list[str]:
    """Return the `stream_partition` fields a path template names, in order."""
    return _PARTITION_TEMPLATE.findall(path)


def render_path(path: str, partition: Mapping[str, Any]) -> str:
    """Fill a path's `stream_partition` fields, each percent-encoded as one path segment."""
    return _PARTITION_TEMPLATE.sub(
        lambda match: encode_path_segment(str(partition[match.group("field")])), path
    )


def encode_path_segment(value: str) -> str:
    """Percent-encode `value` so that it stays exactly one path segment.

    `/`, `?`, `#`, `%` and spaces are encoded by `quote`; a segment of only dots is encoded too,
    because HTTP clients remove `.` and `..` segments from a path.
    """
    encoded = quote(value, safe="")
    if encoded.strip(".") == "":
        encoded = encoded.replace(".", "%2E")
    return encoded


def parse_declaration(raw: Mapping[str, Any]) -> ApiDeclaration:
    """Check the seed-shaped declaration and return its typed form.

    Raises:
        DeclarationError: naming the resource and the key that is wrong.
    """
    _known_keys("declaration", raw, _TOP_KEYS, required={"client", "resources", "schema"})
    client = _mapping("client", raw["client"])
    _known_keys("client", client, _CLIENT_KEYS, required={"base_url", "auth"})
    auth = _mapping("client.auth", client["auth"])
    _known_keys("client.auth", auth, _AUTH_KEYS, required={"type", "token"})
    if auth["type"] != "bearer":
        raise DeclarationError(f"client.auth.type {auth['type']!r} is not supported: use 'bearer'")
    _check_setting("client", "base_url", client["base_url"])
    _check_setting("client", "auth.token", auth["token"])
    default_paginator = _parse_paginator("client.paginator", client.get("paginator", "single_page"))

    defaults = _mapping("resource_defaults", raw.get("resource_defaults") or {})
    _known_keys("resource_defaults", defaults, _DEFAULT_KEYS)
    schema = _mapping("schema", raw["schema"])

    resources_raw = raw["resources"]
    if not isinstance(resources_raw, list) or not resources_raw:
        raise DeclarationError("resources must be a non-empty list")
    names = [r.get("name") if isinstance(r, Mapping) else None for r in resources_raw]
    for position, name in enumerate(names):
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise DeclarationError(
                f"resources[{position}].name {name!r} must be a lower-case identifier"
            )
        if names.count(name) > 1:
            raise DeclarationError(f"resource {name!r}: name is declared more than once")
    for name in schema:
        if name not in names:
            raise DeclarationError(f"schema.{name}: no resource of that name is declared")

    resources = tuple(
        _parse_resource(resource, defaults, default_paginator, schema, names)
        for resource in resources_raw
    )
    return ApiDeclaration(
        base_url=client["base_url"],
        token=auth["token"],
        retry=_parse_error_handler(raw.get("error_handler")),
        resources=resources,
    )


def _parse_resource(
    raw: Mapping[str, Any],
    defaults: Mapping[str, Any],
    default_paginator: Paginator,
    schema: Mapping[str, Any],
    names: list[str],
) -> ResourceDeclaration:
    name = raw["name"]
    where = f"resource {name!r}"
    _known_keys(where, raw, _RESOURCE_KEYS, required={"name", "endpoint"})
    endpoint = _mapping(f"{where}: endpoint", raw["endpoint"])
    _known_keys(f"{where}: endpoint", endpoint, _ENDPOINT_KEYS, required={"path"})

    path = endpoint["path"]
    if not isinstance(path, str) or not path.startswith("/"):
        raise DeclarationError(f"{where}: endpoint.path {path!r} must be a string starting with /")
    leftover = _ANY_TEMPLATE.findall(_PARTITION_TEMPLATE.sub("", path))
    if leftover:
        raise DeclarationError(
            f"{where}: endpoint.path template {leftover[0]!r} is not supported; "
            "use {{ stream_partition['field'] }}"
        )

    params = _mapping(f"{where}: endpoint.params", endpoint.get("params") or {})
    for key, value in params.items():
        _check_setting(where, f"endpoint.params.{key}", value)
    limit_max = endpoint.get("limit_max")
    if limit_max is not None and (not isinstance(limit_max, int) or limit_max < 1):
        raise DeclarationError(f"{where}: endpoint.limit_max {limit_max!r} must be a positive int")

    parent = _parse_router(where, raw.get("partition_router"), names, name)
    filled = {parent.partition_field} if parent else set()
    for field in partition_fields(path):
        if field not in filled:
            raise DeclarationError(
                f"{where}: endpoint.path names stream_partition[{field!r}] but no "
                "partition_router.parent_stream_configs entry fills it"
            )
    if parent and parent.partition_field not in partition_fields(path):
        raise DeclarationError(
            f"{where}: partition_router fills {parent.partition_field!r} but endpoint.path "
            "never uses it"
        )

    primary_key = raw.get("primary_key", defaults.get("primary_key"))
    if not isinstance(primary_key, str):
        raise DeclarationError(f"{where}: primary_key {primary_key!r} must be one field name")
    write_disposition = raw.get("write_disposition", defaults.get("write_disposition", "merge"))
    if write_disposition not in WRITE_DISPOSITIONS:
        raise DeclarationError(
            f"{where}: write_disposition {write_disposition!r} is not one of "
            f"{sorted(WRITE_DISPOSITIONS)}"
        )

    incremental = _parse_incremental(where, raw.get("incremental_sync"))
    if incremental is None and parent is None:
        raise DeclarationError(
            f"{where}: a list resource needs incremental_sync, so that a day's run reads that day"
        )
    if name not in schema:
        raise DeclarationError(f"{where}: schema.{name} is missing")
    columns = _parse_schema(f"schema.{name}", schema[name], primary_key)
    if incremental and incremental.cursor_field not in {c.name for c in columns}:
        raise DeclarationError(
            f"{where}: incremental_sync.cursor_field {incremental.cursor_field!r} is not a "
            f"field of schema.{name}"
        )
    return ResourceDeclaration(
        name=name,
        description=raw.get("description"),
        path=path,
        data_selector=_parse_data_selector(where, endpoint.get("data_selector", "data")),
        params=dict(params),
        limit_max=limit_max,
        paginator=(
            _parse_paginator(f"{where}: endpoint.paginator", endpoint["paginator"])
            if "paginator" in endpoint
            else default_paginator
        ),
        primary_key=primary_key,
        write_disposition=write_disposition,
        incremental=incremental,
        parent=parent,
        columns=columns,
        owners=_parse_owners(where, raw.get("owners", defaults.get("owners", []))),
        tags={
            **_parse_tags("resource_defaults", defaults.get("tags", {})),
            **_parse_tags(where, raw.get("tags", {})),
        },
    )


def _parse_owners(where: str, raw: Any) -> tuple[str, ...]:
    # Dagster's own rule for asset owners, checked here so the error names the resource.
    if not isinstance(raw, list):
        raise DeclarationError(f"{where}: owners must be a list, got {type(raw).__name__}")
    for owner in raw:
        if not isinstance(owner, str) or not (
            re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", owner) or re.fullmatch(r"team:\S+", owner)
        ):
            raise DeclarationError(
                f"{where}: owner {owner!r} must be an email address or 'team:<name>'"
            )
    return tuple(raw)


def _parse_tags(where: str, raw: Any) -> dict[str, str]:
    tags = _mapping(f"{where}: tags", raw)
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise DeclarationError(f"{where}: tags.{key} must map a string to a string")
        if not _TAG_KEY.fullmatch(key) or not _TAG_VALUE.fullmatch(value):
            raise DeclarationError(
                f"{where}: tags.{key}={value!r}: keys and values take letters, digits, '_', "
                "'-' and '.', at most 63 characters; a key may have one 'prefix/' (Dagster's rule)"
            )
    return dict(tags)


def _parse_incremental(where: str, raw: Any) -> IncrementalSync | None:
    if raw is None:
        return None
    raw = _mapping(f"{where}: incremental_sync", raw)
    _known_keys(
        f"{where}: incremental_sync",
        raw,
        _INCREMENTAL_KEYS,
        required={"type", "cursor_field", "start_datetime", "datetime_format"},
    )
    if raw["type"] != "datetime_cursor":
        raise DeclarationError(
            f"{where}: incremental_sync.type {raw['type']!r} is not supported: use "
            "'datetime_cursor'"
        )
    if raw["datetime_format"] != DATETIME_FORMAT:
        raise DeclarationError(
            f"{where}: incremental_sync.datetime_format {raw['datetime_format']!r} is not "
            f"supported: use {DATETIME_FORMAT!r}"
        )
    cursor_formats = raw.get("cursor_datetime_formats", [UNIX_SECONDS_FORMAT])
    if list(cursor_formats) != [UNIX_SECONDS_FORMAT]:
        raise DeclarationError(
            f"{where}: incremental_sync.cursor_datetime_formats {cursor_formats!r} is not "
            f"supported: the API's cursors are Unix seconds, {[UNIX_SECONDS_FORMAT]!r}"
        )
    _check_setting(where, "incremental_sync.start_datetime", raw["start_datetime"])
    is_data_feed = raw.get("is_data_feed", False)
    if not isinstance(is_data_feed, bool):
        raise DeclarationError(f"{where}: incremental_sync.is_data_feed must be true or false")
    return IncrementalSync(
        cursor_field=raw["cursor_field"],
        start_datetime=raw["start_datetime"],
        is_data_feed=is_data_feed,
    )


def _parse_router(where: str, raw: Any, names: list[str], own_name: str) -> ParentStream | None:
    if raw is None:
        return None
    raw = _mapping(f"{where}: partition_router", raw)
    _known_keys(
        f"{where}: partition_router", raw, _ROUTER_KEYS, required={"type", "parent_stream_configs"}
    )
    if raw["type"] != "SubstreamPartitionRouter":
        raise DeclarationError(
            f"{where}: partition_router.type {raw['type']!r} is not supported: use "
            "'SubstreamPartitionRouter'"
        )
    configs = raw["parent_stream_configs"]
    if not isinstance(configs, list) or len(configs) != 1:
        raise DeclarationError(
            f"{where}: partition_router.parent_stream_configs must hold exactly one parent"
        )
    config = _mapping(f"{where}: partition_router.parent_stream_configs[0]", configs[0])
    _known_keys(
        f"{where}: partition_router.parent_stream_configs[0]",
        config,
        _PARENT_KEYS,
        required=_PARENT_KEYS,
    )
    stream = config["stream"]
    if stream not in names or stream == own_name:
        raise DeclarationError(
            f"{where}: partition_router.parent_stream_configs[0].stream {stream!r} is not "
            "another declared resource"
        )
    return ParentStream(
        stream=stream, parent_key=config["parent_key"], partition_field=config["partition_field"]
    )


def _parse_paginator(where: str, raw: Any) -> Paginator:
    if isinstance(raw, str):
        raw = {"type": raw}
    raw = _mapping(where, raw)
    _known_keys(where, raw, _PAGINATOR_KEYS, required={"type"})
    if raw["type"] not in PAGINATOR_TYPES:
        raise DeclarationError(
            f"{where}.type {raw['type']!r} is not supported: use one of {sorted(PAGINATOR_TYPES)}"
        )
    if raw["type"] == "cursor":
        _known_keys(where, raw, _PAGINATOR_KEYS, required=_PAGINATOR_KEYS)
    return Paginator(
        type=raw["type"],
        cursor_path=raw.get("cursor_path"),
        cursor_param=raw.get("cursor_param"),
        has_more_path=raw.get("has_more_path"),
    )


def _parse_error_handler(raw: Any) -> RetryPolicy:
    if raw is None:
        return RetryPolicy(retry_statuses=(), max_retries=0, backoff_factor=1)
    raw = _mapping("error_handler", raw)
    _known_keys("error_handler", raw, _ERROR_HANDLER_KEYS, required=_ERROR_HANDLER_KEYS)
    if raw["type"] != "retry":
        raise DeclarationError(f"error_handler.type {raw['type']!r} is not supported: use 'retry'")
    statuses = raw["retry_statuses"]
    if not isinstance(statuses, list) or not all(isinstance(s, int) for s in statuses):
        raise DeclarationError("error_handler.retry_statuses must be a list of HTTP status codes")
    if not isinstance(raw["max_retries"], int) or raw["max_retries"] < 0:
        raise DeclarationError("error_handler.max_retries must be a whole number, 0 or more")
    if not isinstance(raw["backoff_factor"], int | float) or raw["backoff_factor"] <= 0:
        raise DeclarationError("error_handler.backoff_factor must be a positive number")
    return RetryPolicy(
        retry_statuses=tuple(statuses),
        max_retries=raw["max_retries"],
        backoff_factor=float(raw["backoff_factor"]),
    )


def _parse_schema(where: str, raw: Any, primary_key: str) -> tuple[Column, ...]:
    raw = _mapping(where, raw)
    _known_keys(where, raw, _SCHEMA_KEYS, required={"fields"})
    if raw.get("primary_key", primary_key) != primary_key:
        raise DeclarationError(
            f"{where}.primary_key {raw['primary_key']!r} differs from the resource's "
            f"primary_key {primary_key!r}"
        )
    fields = _mapping(f"{where}.fields", raw["fields"])
    if primary_key not in fields:
        raise DeclarationError(f"{where}.fields has no primary key field {primary_key!r}")
    columns = []
    for field, declared in fields.items():
        types = [declared] if isinstance(declared, str) else list(declared)
        nullable = "null" in types
        concrete = [t for t in types if t != "null"]
        if len(concrete) != 1 or concrete[0] not in FIELD_TYPES:
            raise DeclarationError(
                f"{where}.fields.{field}: type {declared!r} is not supported: use one of "
                f"{sorted(FIELD_TYPES)}, optionally with 'null'"
            )
        if field == primary_key and nullable:
            raise DeclarationError(f"{where}.fields.{field}: the primary key cannot be nullable")
        columns.append(
            Column(
                name=field,
                json_type=concrete[0],
                data_type=FIELD_TYPES[concrete[0]],
                nullable=nullable,
            )
        )
    return tuple(columns)


def _parse_data_selector(where: str, raw: Any) -> str:
    # The seed writes the document root as Airbyte's empty field path, `[]`; dlt calls it `$`.
    if raw == [] or raw == "$":
        return "$"
    if isinstance(raw, str) and re.fullmatch(r"\w+(\.\w+)*", raw):
        return raw
    raise DeclarationError(
        f"{where}: endpoint.data_selector {raw!r} is not supported: use a field path or []"
    )


def _check_setting(where: str, key: str, value: Any) -> None:
    name = setting_name(value)
    if name is not None and name not in SETTING_NAMES:
        raise DeclarationError(
            f"{where}: {key} names setting {name!r}, which is not one of {sorted(SETTING_NAMES)}"
        )
    if name is None and isinstance(value, str) and _ANY_TEMPLATE.search(value):
        raise DeclarationError(
            f"{where}: {key} template {value!r} is not supported: use {{{{ config['name'] }}}}"
        )


def _known_keys(
    where: str, raw: Mapping[str, Any], allowed: set[str], required: set[str] = frozenset()
) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise DeclarationError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
    missing = sorted(set(required) - set(raw))
    if missing:
        raise DeclarationError(f"{where}: missing key {missing[0]!r}")


def _mapping(where: str, raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise DeclarationError(f"{where} must be a mapping, got {type(raw).__name__}")
    return raw
