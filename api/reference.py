"""The OpenAPI document as the admins' reference page shows it: each operation with its
parameters and answers, and each schema's fields, as plain values for GOV.UK tables."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    security: str
    parameters: list[Row]
    responses: list[Row]


@dataclass(frozen=True)
class Reference:
    operations: list[Operation]
    schemas: list[tuple[str, list[Row]]]


def _type_of(schema: dict) -> str:
    """A schema's type in words: "string (date)", "Grant", "list of string", "integer or null"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_of(option) for option in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"])
    if schema.get("type") == "array":
        return "list of " + _type_of(schema.get("items", {}))
    kind = schema.get("type", "any")
    if "format" in schema:
        kind += f" ({schema['format']})"
    return kind


def _limits(schema: dict) -> str:
    words = []
    for key, say in (
        ("minimum", "at least"),
        ("maximum", "at most"),
        ("maxLength", "up to {} characters"),
        ("default", "default"),
    ):
        if key in schema and schema[key] not in (None, ""):
            words.append(say.format(schema[key]) if "{}" in say else f"{say} {schema[key]}")
    return ", ".join(words)


def operations(document: dict) -> Reference:
    found = []
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            parameters = [
                Row(
                    name=parameter["name"],
                    kind=_type_of(parameter.get("schema", {})),
                    required=bool(parameter.get("required")),
                    description=" ".join(
                        part
                        for part in (
                            parameter.get("description")
                            or parameter.get("schema", {}).get("description", ""),
                            _limits(parameter.get("schema", {})),
                        )
                        if part
                    ),
                )
                for parameter in operation.get("parameters", [])
            ]
            responses = []
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json", {})
                responses.append(
                    Row(
                        name=str(status),
                        kind=_type_of(content.get("schema", {})) if content else "",
                        required=False,
                        description=response.get("description", ""),
                    )
                )
            security = ", ".join(
                name for requirement in operation.get("security", []) for name in requirement
            )
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=operation.get("summary", ""),
                    description=operation.get("description", ""),
                    security=security,
                    parameters=parameters,
                    responses=responses,
                )
            )
    schemas = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        schemas.append(
            (
                name,
                [
                    Row(
                        name=field,
                        kind=_type_of(details),
                        required=field in required,
                        description=details.get("description", ""),
                    )
                    for field, details in schema.get("properties", {}).items()
                ],
            )
        )
    return Reference(operations=found, schemas=schemas)
