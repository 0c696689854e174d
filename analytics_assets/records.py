"""Checks that what the API sent has the declared shape, before dlt sees it.

A record that breaks the declaration fails the run with an error naming the resource, the
record's id and the field; nothing is dropped or coerced silently. Undeclared fields pass
through and land as new columns.
"""

from collections.abc import Mapping
from typing import Any

from analytics_assets.declaration import ResourceDeclaration

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


class ApiDataError(ValueError):
    """A page or record from the API does not have the declared shape."""


def check_list_page(resource: ResourceDeclaration, path: str, document: Any) -> None:
    """Check a list page: the selected `data` is a list of valid records, `has_more` a bool."""
    where = f"resource {resource.name!r}: GET {path}"
    if not isinstance(document, Mapping):
        raise ApiDataError(f"{where} returned {type(document).__name__}, expected a JSON object")
    records = document.get(resource.data_selector) if resource.data_selector != "$" else document
    if not isinstance(records, list):
        raise ApiDataError(
            f"{where} returned {resource.data_selector!r} as {type(records).__name__}, "
            "expected a list of records"
        )
    has_more_path = resource.paginator.has_more_path
    if has_more_path and not isinstance(document.get(has_more_path), bool):
        raise ApiDataError(
            f"{where} returned a page whose {has_more_path!r} is "
            f"{_show(document.get(has_more_path))}, expected true or false"
        )
    for record in records:
        check_record(resource, record)


def check_record(resource: ResourceDeclaration, record: Any) -> None:
    """Check one record against the declared fields: present when required, of their type."""
    if not isinstance(record, Mapping):
        raise ApiDataError(
            f"resource {resource.name!r}: a record is {type(record).__name__} "
            f"{_show(record)}, expected a JSON object"
        )
    record_id = record.get(resource.primary_key)
    for column in resource.columns:
        value = record.get(column.name)
        if value is None:
            if column.nullable:
                continue
            problem = "is missing" if column.name not in record else "is null"
            raise ApiDataError(
                f"resource {resource.name!r}: record {_show(record_id)}: field "
                f"{column.name!r} {problem}, but the declaration requires it"
            )
        expected = _JSON_TYPES[column.json_type]
        if (isinstance(value, bool) and bool not in expected) or not isinstance(value, expected):
            raise ApiDataError(
                f"resource {resource.name!r}: record {_show(record_id)}: field {column.name!r} "
                f"is {_show(value)} ({type(value).__name__}), which cannot be stored as the "
                f"declared {column.json_type}"
            )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
