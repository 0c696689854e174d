"""Translates the declaration, the settings and a run's window into a dlt source.

List resources become dlt's native `rest_api` resources (cursor paging, a stateless
`[start, end)` incremental on the datetime cursor, typed columns). A resource routed by a parent
stream (`file_contents`) becomes a dlt transformer of that parent: it sees only the parent's
records of the window, percent-encodes each partition value as one path segment, and fetches
several documents at a time.
"""

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dlt
from dlt.common import jsonpath
from dlt.common.schema import Schema
from dlt.extract import DltResource, DltSource
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.rest_api import rest_api_resources
from requests import Response, Session

from analytics_assets.declaration import (
    ApiDeclaration,
    ResourceDeclaration,
    render_path,
    setting_name,
)
from analytics_assets.http import get_exact_path, retrying_session
from analytics_assets.partitions import SyncWindow
from analytics_assets.settings import AnalyticsSettings, parse_start_date

SOURCE_NAME = "analytics"


class AnalyticsApiError(RuntimeError):
    """The API answered a request with an error that retrying cannot fix."""


def build_source(
    declaration: ApiDeclaration,
    settings: AnalyticsSettings,
    window: SyncWindow,
    *,
    session: Session | None = None,
) -> DltSource:
    """Build the dlt source that loads `window` of every declared resource.

    Args:
        declaration: the parsed declaration (`declaration.parse_declaration`).
        settings: resolved settings; without an API key the source can be inspected, not run.
        window: the cursor range `[start, end)` to load.
        session: the HTTP session to use; a retrying keep-alive session by default.
    """
    session = session or retrying_session(
        declaration.retry, max_connections=max(16, settings.content_concurrency)
    )
    base_url = _resolve(declaration.base_url, settings)
    token = _resolve(declaration.token, settings)
    auth = BearerTokenAuth(token=token) if token else None

    # Resources that read the very same endpoint the very same way share one read of it.
    readers: dict[tuple[Any, ...], str] = {}
    reader_of: dict[str, str] = {}
    for resource in declaration.resources:
        if resource.is_list:
            reader_of[resource.name] = readers.setdefault(_read_key(resource), resource.name)
    built: dict[str, DltResource] = {
        resource.name: resource
        for resource in rest_api_resources(
            {
                "client": {"base_url": base_url, "auth": auth, "session": session},
                "resources": [
                    _endpoint_resource(declaration.resource(name), settings, window)
                    for name in readers.values()
                ],
            }
        )
    }
    for resource in declaration.resources:
        if resource.name in built:
            continue
        if resource.is_list:
            built[resource.name] = _shared_read_resource(resource, built[reader_of[resource.name]])
        else:
            built[resource.name] = _substream_resource(
                resource,
                built[resource.parent.stream],
                lambda path: get_exact_path(session, base_url, path, auth),
                settings.content_concurrency,
            )
    ordered = [built[resource.name] for resource in declaration.resources]
    return DltSource.from_data(Schema(SOURCE_NAME), SOURCE_NAME, ordered)


def column_hints(resource: ResourceDeclaration) -> dict[str, dict[str, Any]]:
    """Dlt column hints from the declared schema: type, nullability and primary key."""
    return {
        column.name: {
            "name": column.name,
            "data_type": column.data_type,
            "nullable": column.nullable,
            **({"primary_key": True} if column.name == resource.primary_key else {}),
        }
        for column in resource.columns
    }


def _endpoint_resource(
    resource: ResourceDeclaration, settings: AnalyticsSettings, window: SyncWindow
) -> dict[str, Any]:
    endpoint: dict[str, Any] = {
        "path": resource.path,
        "data_selector": resource.data_selector,
        "params": _params(resource, settings),
        "paginator": _paginator(resource),
    }
    if resource.incremental is not None:
        incremental = resource.incremental
        start = max(window.start, parse_start_date(_resolve(incremental.start_datetime, settings)))
        endpoint["incremental"] = {
            "cursor_path": incremental.cursor_field,
            "initial_value": int(start.timestamp()),
            "end_value": window.end_seconds,
            "range_start": "closed",
            "range_end": "open",
            "on_cursor_value_missing": "raise",
            **({"row_order": "desc"} if incremental.is_data_feed else {}),
        }
    return {
        "name": resource.name,
        "primary_key": resource.primary_key,
        "write_disposition": resource.write_disposition,
        "columns": column_hints(resource),
        "endpoint": endpoint,
    }


def _read_key(resource: ResourceDeclaration) -> tuple[Any, ...]:
    return (
        resource.path,
        tuple(sorted(resource.params.items())),
        resource.limit_max,
        resource.data_selector,
        resource.paginator,
        resource.incremental,
    )


def _shared_read_resource(resource: ResourceDeclaration, reader: DltResource) -> DltResource:
    """A table fed by another resource's read of the same endpoint, with its own hints."""

    def same_records(records: Any) -> Any:
        return records

    return dlt.transformer(
        same_records,
        name=resource.name,
        data_from=reader,
        primary_key=resource.primary_key,
        write_disposition=resource.write_disposition,
        columns=column_hints(resource),
    )


def _paginator(resource: ResourceDeclaration) -> dict[str, Any]:
    paginator = resource.paginator
    if paginator.type == "single_page":
        return {"type": "single_page"}
    return {
        "type": "cursor",
        "cursor_path": paginator.cursor_path,
        "cursor_param": paginator.cursor_param,
        "has_more_path": paginator.has_more_path,
    }


def _params(resource: ResourceDeclaration, settings: AnalyticsSettings) -> dict[str, Any]:
    params = {key: _resolve(value, settings) for key, value in resource.params.items()}
    if resource.limit_max is not None and isinstance(params.get("limit"), int):
        # Each endpoint has its own largest page (files 10000, batches 100).
        params["limit"] = min(params["limit"], resource.limit_max)
    return params


def _substream_resource(
    resource: ResourceDeclaration,
    parent: DltResource,
    get: Callable[[str], Response],
    concurrency: int,
) -> DltResource:
    link = resource.parent
    assert link is not None

    def fetch(record: Mapping[str, Any]) -> list[dict[str, Any]]:
        if link.parent_key not in record:
            raise AnalyticsApiError(
                f"resource {resource.name!r}: a {link.stream!r} record has no "
                f"{link.parent_key!r} to fill {link.partition_field!r}"
            )
        value = record[link.parent_key]
        path = render_path(resource.path, {link.partition_field: value})
        response = get(path)
        document = _json_document(resource.name, path, response)
        rows = _select(document, resource.data_selector)
        for row in rows:
            row[link.partition_field] = value
        return rows

    def fetch_page(records: Any) -> Iterator[list[dict[str, Any]]]:
        page = records if isinstance(records, list) else [records]
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(page)))) as pool:
            yield from pool.map(fetch, page)

    return dlt.transformer(
        fetch_page,
        name=resource.name,
        data_from=parent,
        primary_key=resource.primary_key,
        write_disposition=resource.write_disposition,
        columns=column_hints(resource),
    )


def _json_document(resource_name: str, path: str, response: Response) -> Any:
    if response.status_code >= 400:
        raise AnalyticsApiError(
            f"resource {resource_name!r}: GET {path} failed with HTTP {response.status_code}: "
            f"{api_error_message(response)}"
        )
    try:
        return response.json()
    except ValueError:
        raise AnalyticsApiError(
            f"resource {resource_name!r}: GET {path} returned a body that is not one JSON "
            f"document ({len(response.content)} bytes)"
        ) from None


def api_error_message(response: Response) -> str:
    """The API's own error message from its `{"error": {"message": ...}}` envelope."""
    try:
        error = response.json().get("error") or {}
        message = error.get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else (response.reason or "no error message")


def _select(document: Any, data_selector: str) -> list[dict[str, Any]]:
    if data_selector == "$":
        selected = document
    else:
        found = jsonpath.find_values(data_selector, document)
        selected = found[0] if found else []
    items = selected if isinstance(selected, list) else [selected]
    return [dict(item) for item in items if item is not None]


def _resolve(value: Any, settings: AnalyticsSettings) -> Any:
    name = setting_name(value)
    if name is None:
        return value
    if name == "start_date":
        return f"{settings.start_date:%Y-%m-%dT%H:%M:%SZ}"
    return getattr(settings, name)
