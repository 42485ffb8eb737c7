"""What the local stack runs, read from template.yaml: functions, their routes, queues and schedules.

Nothing here is specific to carehooks' current functions: a function added to the template with
``HttpApi``, ``SQS``, ``DynamoDB``, ``Schedule`` or ``ScheduleV2`` events is served with no change to the stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.resolver import Resolver, UnresolvableError
from infra.local.settings import ROOT

FUNCTION = "AWS::Serverless::Function"
HTTP_API = "AWS::Serverless::HttpApi"
IMPLICIT_API = "ServerlessHttpApi"


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API JWT authorizer as the template configures it (issuer/audience may be empty)."""

    name: str
    issuer: str
    audience: tuple[str, ...]
    header: str = "authorization"


@dataclass(frozen=True)
class Route:
    """One ``HttpApi`` event: ``METHOD /path`` (``ANY`` and ``{param}``/``{proxy+}`` allowed)."""

    method: str
    path: str
    function: str
    event: str
    authorizer: JwtAuthorizer | None = None
    unsupported_auth: str | None = None
    scopes: tuple[str, ...] = ()
    payload_version: str = "2.0"

    @property
    def key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class QueueSource:
    """An ``SQS`` event source: the function polls ``queue`` (a logical id)."""

    function: str
    event: str
    queue: str
    batch_size: int = 10
    report_failures: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class StreamSource:
    """A ``DynamoDB`` event source: the function reads the stream of ``table`` (a logical id)."""

    function: str
    event: str
    table: str
    batch_size: int = 100
    report_failures: bool = False
    starting_position: str = "TRIM_HORIZON"
    max_retries: int = -1  # -1: until the record leaves the stream
    on_failure: str | None = None  # logical id of the on-failure destination queue
    enabled: bool = True


@dataclass(frozen=True)
class Schedule:
    """A ``Schedule`` (EventBridge rule) or ``ScheduleV2`` (EventBridge Scheduler) event."""

    function: str
    event: str
    kind: str
    expression: str
    timezone: str = "UTC"
    input: str | None = None
    enabled: bool = True

    @property
    def name(self) -> str:
        return f"{self.function}{self.event}"


@dataclass
class Function:
    """A function of the template, its code, merged settings and resolved environment."""

    logical_id: str
    name: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    timeout: int
    memory: int
    reserved_concurrency: int | None
    environment: dict[str, str] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    queues: list[QueueSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)


def _merged(global_props: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals merge: maps merge (function wins), lists are additive (the global entries first, as
    a function's ``Layers`` adds to the global layers), everything else the function overrides."""
    merged = dict(global_props)
    for key, value in props.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def _truthy(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in {"false", "disabled", "0", "no"}
    return bool(value)


def _logical_of(value: Any) -> str | None:
    """The logical id behind ``!Ref X`` / ``!GetAtt X.Arn`` (event sources name their queue so)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return str(arg)
        if key == "Fn::GetAtt":
            return str(arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
    return None


class TemplateModel:
    """The runnable view of template.yaml."""

    def __init__(
        self, template: dict[str, Any], resolver: Resolver, stack_name: str, base_dir: Path = ROOT
    ) -> None:
        self.template = template
        self.base_dir = base_dir
        self.resolver = resolver
        self.stack_name = stack_name
        self.resources: dict[str, dict[str, Any]] = template.get("Resources") or {}
        self.functions: dict[str, Function] = {}
        self.warnings: list[str] = []
        self._load_functions()

    # -- authorizers --------------------------------------------------------------------------
    def _api_properties(self, api_id: str | None) -> dict[str, Any]:
        globals_api = (self.template.get("Globals") or {}).get("HttpApi") or {}
        if api_id is None or api_id == IMPLICIT_API:
            return dict(globals_api)
        resource = self.resources.get(api_id) or {}
        return _merged(globals_api, resource.get("Properties") or {})

    def _authorizer(self, api_id: str | None, name: str) -> JwtAuthorizer | str:
        """The named authorizer of an API, or a string saying why it is not emulated."""
        auth = self._api_properties(api_id).get("Auth") or {}
        definition = (auth.get("Authorizers") or {}).get(name)
        if definition is None:
            return f"authorizer {name} is not defined on the API"
        jwt_config = definition.get("JwtConfiguration")
        if not jwt_config:
            return f"authorizer {name} is not a JWT authorizer (only JWT authorizers are emulated)"
        issuer = self._resolve_str(jwt_config.get("issuer") or jwt_config.get("Issuer") or "", "issuer")
        audience_raw = self.resolver.resolve(jwt_config.get("audience") or jwt_config.get("Audience") or [])
        audience = audience_raw if isinstance(audience_raw, list) else [audience_raw]
        source = str(definition.get("IdentitySource") or "$request.header.Authorization")
        header = (
            source.rsplit(".", 1)[-1].lower() if source.startswith("$request.header.") else "authorization"
        )
        return JwtAuthorizer(
            name=name, issuer=issuer, audience=tuple(str(a) for a in audience if a), header=header
        )

    def _resolve_str(self, value: Any, what: str) -> str:
        return self.resolver.resolve_str(value, what)

    # -- functions ----------------------------------------------------------------------------
    def _load_functions(self) -> None:
        global_function = (self.template.get("Globals") or {}).get("Function") or {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != FUNCTION:
                continue
            if resource.get("Condition") and not self.resolver.condition(resource["Condition"]):
                continue
            props = _merged(global_function, resource.get("Properties") or {})
            if props.get("InlineCode"):
                self.warnings.append(f"{logical_id}: InlineCode is not supported locally; skipped")
                continue
            code_uri = props.get("CodeUri")
            if not isinstance(code_uri, str):
                self.warnings.append(f"{logical_id}: CodeUri must be a local folder; skipped")
                continue
            function = Function(
                logical_id=logical_id,
                name=f"{self.stack_name}-{logical_id}",
                code_dir=(self.base_dir / code_uri).resolve(),
                handler=str(props.get("Handler") or "app.handler"),
                layer_dirs=self._layer_dirs(props.get("Layers") or []),
                timeout=int(self.resolver.resolve(props.get("Timeout")) or 3),
                memory=int(self.resolver.resolve(props.get("MemorySize")) or 128),
                reserved_concurrency=(
                    int(self.resolver.resolve(props["ReservedConcurrentExecutions"]))
                    if props.get("ReservedConcurrentExecutions") is not None
                    else None
                ),
            )
            variables = (props.get("Environment") or {}).get("Variables") or {}
            for name, value in variables.items():
                function.environment[name] = self._resolve_str(value, f"{logical_id} env {name}")
            for event_name, event in (props.get("Events") or {}).items():
                self._load_event(function, event_name, event)
            self.functions[logical_id] = function

    def _layer_dirs(self, layers: list[Any]) -> list[Path]:
        dirs: list[Path] = []
        for layer in layers:
            logical = _logical_of(layer)
            resource = self.resources.get(logical or "") or {}
            content = (resource.get("Properties") or {}).get("ContentUri")
            if resource.get("Type") != "AWS::Serverless::LayerVersion" or not isinstance(content, str):
                self.warnings.append(f"layer {layer!r} is not a local LayerVersion; not on the path")
                continue
            base = (self.base_dir / content).resolve()
            # An unbuilt layer keeps its packages under python/; a built one (BuildMethod) at the root.
            dirs.append(base / "python" if (base / "python").is_dir() else base)
        return dirs

    def _load_event(self, function: Function, name: str, event: dict[str, Any]) -> None:
        kind = event.get("Type")
        props = event.get("Properties") or {}
        if kind == "HttpApi":
            function.routes.append(self._route(function, name, props))
        elif kind == "SQS":
            queue = _logical_of(props.get("Queue"))
            if queue is None or queue not in self.resources:
                self.warnings.append(f"{function.logical_id}.{name}: SQS queue is not a template queue")
                return
            if props.get("FilterCriteria"):
                self.warnings.append(f"{function.logical_id}.{name}: FilterCriteria is ignored locally")
            function.queues.append(
                QueueSource(
                    function=function.logical_id,
                    event=name,
                    queue=queue,
                    batch_size=int(self.resolver.resolve(props.get("BatchSize")) or 10),
                    report_failures="ReportBatchItemFailures"
                    in (self.resolver.resolve(props.get("FunctionResponseTypes")) or []),
                    enabled=_truthy(self.resolver.resolve(props.get("Enabled"))),
                )
            )
        elif kind == "DynamoDB":
            self._load_stream(function, name, props)
        elif kind in ("Schedule", "ScheduleV2"):
            expression = props.get("Schedule") if kind == "Schedule" else props.get("ScheduleExpression")
            state = self.resolver.resolve(props.get("State"))
            enabled = _truthy(self.resolver.resolve(props.get("Enabled"))) and _truthy(state)
            raw_input = self.resolver.resolve(props.get("Input"))
            function.schedules.append(
                Schedule(
                    function=function.logical_id,
                    event=name,
                    kind=str(kind),
                    expression=self._resolve_str(expression, f"{function.logical_id}.{name} expression"),
                    timezone=self._resolve_str(props.get("ScheduleExpressionTimezone") or "UTC", "timezone"),
                    input=None if raw_input is None else str(raw_input),
                    enabled=enabled,
                )
            )
        else:
            self.warnings.append(f"{function.logical_id}.{name}: event type {kind} is not emulated locally")

    def _load_stream(self, function: Function, name: str, props: dict[str, Any]) -> None:
        table = _logical_of(props.get("Stream"))
        if table is None or table not in self.resources:
            self.warnings.append(f"{function.logical_id}.{name}: the stream is not a template table's")
            return
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        retries = self.resolver.resolve(props.get("MaximumRetryAttempts"))
        function.streams.append(
            StreamSource(
                function=function.logical_id,
                event=name,
                table=table,
                batch_size=int(self.resolver.resolve(props.get("BatchSize")) or 100),
                report_failures="ReportBatchItemFailures"
                in (self.resolver.resolve(props.get("FunctionResponseTypes")) or []),
                starting_position=str(self.resolver.resolve(props.get("StartingPosition")) or "TRIM_HORIZON"),
                max_retries=-1 if retries is None else int(retries),
                on_failure=_logical_of(destination),
                enabled=_truthy(self.resolver.resolve(props.get("Enabled"))),
            )
        )

    def _route(self, function: Function, name: str, props: dict[str, Any]) -> Route:
        api_id = _logical_of(props.get("ApiId"))
        method = str(props.get("Method") or "").upper()
        path = str(props.get("Path") or "")
        if not path and not method:
            method, path = "ANY", "$default"
        method = "ANY" if method in ("", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method
        auth = props.get("Auth") or {}
        api_auth = self._api_properties(api_id).get("Auth") or {}
        authorizer_name = auth.get("Authorizer") or api_auth.get("DefaultAuthorizer")
        authorizer: JwtAuthorizer | None = None
        unsupported: str | None = None
        if authorizer_name and authorizer_name != "NONE":
            if authorizer_name == "AWS_IAM":
                unsupported = "AWS_IAM authorization is not emulated locally"
            else:
                found = self._authorizer(api_id, str(authorizer_name))
                if isinstance(found, str):
                    unsupported = found
                else:
                    authorizer = found
        if unsupported:
            self.warnings.append(f"{function.logical_id}.{name}: {unsupported}; requests get 401")
        scopes = tuple(str(s) for s in (self.resolver.resolve(auth.get("AuthorizationScopes")) or []))
        version = str(props.get("PayloadFormatVersion") or "2.0")
        if version != "2.0":
            self.warnings.append(f"{function.logical_id}.{name}: payload format {version} is served as 2.0")
        return Route(
            method=method,
            path=path,
            function=function.logical_id,
            event=name,
            authorizer=authorizer,
            unsupported_auth=unsupported,
            scopes=scopes,
        )

    # -- views --------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        return [route for function in self.functions.values() for route in function.routes]

    def queue_sources(self) -> list[QueueSource]:
        return [source for function in self.functions.values() for source in function.queues]

    def schedules(self) -> list[Schedule]:
        return [schedule for function in self.functions.values() for schedule in function.schedules]

    def stream_sources(self) -> list[StreamSource]:
        return [source for function in self.functions.values() for source in function.streams]


def parameters(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """Template parameters: ``LOCAL_PARAM_<Name>`` overrides, else the default."""
    values: dict[str, str] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        if name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            default = spec["Default"]
            values[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        else:
            raise UnresolvableError(f"parameter {name} has no default; set LOCAL_PARAM_{name}")
    return values
