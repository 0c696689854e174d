"""Translates the declaration, the settings and a run's window into a dlt source.

List resources become dlt's native `rest_api` resources (cursor paging, a stateless
`[start, end)` incremental on the datetime cursor, typed columns). Resources that read the very
same endpoint the very same way share one read of it. A resource routed by a parent stream
(`file_contents`) becomes a dlt transformer of that parent: it sees only the parent's records of
the window, percent-encodes each partition value as one path segment, and fetches several
documents at a time. Every page and document is checked against the declaration first.
"""

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

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
    RetryPolicy,
    render_path,
    setting_name,
)
from analytics_assets.http import check_response, exact_path_getter, retrying_session
from analytics_assets.partitions import SyncWindow
from analytics_assets.progress import RunProgress
from analytics_assets.records import ApiDataError, check_list_page, check_record
from analytics_assets.settings import AnalyticsSettings, parse_start_date

SOURCE_NAME = "analytics"


def retry_policy(declaration: ApiDeclaration, settings: AnalyticsSettings) -> RetryPolicy:
    """The declaration's retry policy with the retries and backoff factor the settings override."""
    return dataclasses.replace(
        declaration.retry,
        **({"max_retries": settings.max_retries} if settings.max_retries is not None else {}),
        **(
            {"backoff_factor": settings.backoff_factor}
            if settings.backoff_factor is not None
            else {}
        ),
    )


def build_source(
    declaration: ApiDeclaration,
    settings: AnalyticsSettings,
    window: SyncWindow,
    *,
    session: Session | None = None,
    progress: RunProgress | None = None,
) -> DltSource:
    """Build the dlt source that loads `window` of every declared resource.

    Args:
        declaration: the parsed declaration (`declaration.parse_declaration`).
        settings: resolved settings; without an API key the source can be inspected, not run.
        window: the cursor range `[start, end)` to load.
        session: the HTTP session to send through (see `http.retrying_session`); by default one
            with the declared retry policy and the settings' timeout.
        progress: where pages and records read are counted; not counted if not given.
    """
    progress = progress or RunProgress(log=lambda _: None)
    if session is None:
        session = retrying_session(
            retry_policy(declaration, settings),
            timeout_seconds=settings.request_timeout,
            max_connections=max(16, settings.content_concurrency),
        )
    base_url = _resolve(declaration.base_url, settings)
    token = _resolve(declaration.token, settings)
    auth = BearerTokenAuth(token=token) if token else None

    reader_of = shared_readers(declaration)
    built: dict[str, DltResource] = {
        resource.name: resource
        for resource in rest_api_resources(
            {
                "client": {"base_url": base_url, "auth": auth, "session": session},
                "resources": [
                    _endpoint_resource(declaration.resource(name), settings, window, progress)
                    for name in sorted(set(reader_of.values()), key=list(reader_of).index)
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
                exact_path_getter(session, base_url, auth, check_response(resource.name)),
                settings.content_concurrency,
                progress,
            )
    ordered = [built[resource.name] for resource in declaration.resources]
    return DltSource.from_data(Schema(SOURCE_NAME), SOURCE_NAME, ordered)


def shared_readers(declaration: ApiDeclaration) -> dict[str, str]:
    """For each list resource, the resource whose read of the endpoint feeds it.

    Resources that read the very same endpoint the very same way share one read: the first one
    declared reads, the others take its records (`batch_results` takes those of `batches`).
    """
    readers: dict[tuple[Any, ...], str] = {}
    return {
        resource.name: readers.setdefault(_read_key(resource), resource.name)
        for resource in declaration.resources
        if resource.is_list
    }


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
    resource: ResourceDeclaration,
    settings: AnalyticsSettings,
    window: SyncWindow,
    progress: RunProgress,
) -> dict[str, Any]:
    endpoint: dict[str, Any] = {
        "path": resource.path,
        "data_selector": resource.data_selector,
        "params": _params(resource, settings),
        "paginator": _paginator(resource),
        "response_actions": [_page_check(resource, progress)],
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


def _page_check(
    resource: ResourceDeclaration, progress: RunProgress
) -> Callable[[Response], Response]:
    check_status_and_json = check_response(resource.name)
    cursor_field = resource.incremental.cursor_field if resource.incremental else None

    def check(response: Response) -> Response:
        check_status_and_json(response)
        document = response.json()
        check_list_page(resource, urlsplit(response.url).path, document)
        records = _select(document, resource.data_selector)
        last = records[-1].get(cursor_field) if records and cursor_field else None
        progress.page(resource.name, len(records), last)
        return response

    return check


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

    return _transformer(resource, same_records, reader)


def _transformer(
    resource: ResourceDeclaration, transform: Callable[..., Any], parent: DltResource
) -> DltResource:
    """A dlt transformer of `parent` that loads into `resource`'s table with its hints."""
    return dlt.transformer(
        transform,
        name=resource.name,
        data_from=parent,
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
    if "limit" in params and resource.limit_max is not None:
        # Each endpoint has its own largest page (files 10000, batches 100); without a
        # configured limit, the largest page means the fewest requests.
        params["limit"] = min(params["limit"] or resource.limit_max, resource.limit_max)
    if params.get("limit") is None:
        params.pop("limit", None)
    return params


def _substream_resource(
    resource: ResourceDeclaration,
    parent: DltResource,
    get: Callable[[str], Response],
    concurrency: int,
    progress: RunProgress,
) -> DltResource:
    link = resource.parent
    assert link is not None

    def fetch(record: Mapping[str, Any]) -> list[dict[str, Any]]:
        value = record.get(link.parent_key)
        if value is None:
            raise ApiDataError(
                f"resource {resource.name!r}: a {link.stream!r} record has no "
                f"{link.parent_key!r} to fill {link.partition_field!r}"
            )
        response = get(render_path(resource.path, {link.partition_field: value}))
        rows = _select(response.json(), resource.data_selector)
        for row in rows:
            if not isinstance(row, dict):
                raise ApiDataError(
                    f"resource {resource.name!r}: {link.partition_field} {value!r}: the document "
                    f"is {type(row).__name__}, expected a JSON object"
                )
            row[link.partition_field] = value
            check_record(resource, row)
        progress.page(resource.name, len(rows))
        return rows

    def fetch_page(records: Any) -> Iterator[list[dict[str, Any]]]:
        page = records if isinstance(records, list) else [records]
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(page)))) as pool:
            # One list per parent page: dlt handles fewer, larger items faster.
            yield [row for rows in pool.map(fetch, page) for row in rows]

    return _transformer(resource, fetch_page, parent)


def _select(document: Any, data_selector: str) -> list[Any]:
    if data_selector == "$":
        selected = document
    else:
        found = jsonpath.find_values(data_selector, document)
        selected = found[0] if found else []
    return selected if isinstance(selected, list) else [selected]


def _resolve(value: Any, settings: AnalyticsSettings) -> Any:
    name = setting_name(value)
    if name is None:
        return value
    if name == "start_date":
        return f"{settings.start_date:%Y-%m-%dT%H:%M:%SZ}"
    return getattr(settings, name)
