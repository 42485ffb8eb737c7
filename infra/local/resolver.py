"""Resolve CloudFormation intrinsic functions against the local resources.

Covers what a SAM template puts in function environments, event sources and resource properties:
``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ``Fn::If`` (with the template's Conditions),
``Fn::Select``, ``Fn::Split``, ``Fn::Equals``/``Not``/``And``/``Or``, plus pseudo parameters.
Anything else resolves to ``None`` with a warning, never to a silently wrong value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

ACCOUNT_ID = "123456789012"
NO_VALUE = object()

_SUB = re.compile(r"\$\{([^}]+)\}")


class UnresolvableError(ValueError):
    """The value refers to something the local stack does not have."""


class Resolver:
    """Turns template values into local values.

    ``attributes`` maps a logical id to its local attributes; the key ``"Ref"`` is what ``!Ref``
    returns (a table name, a queue URL, a secret ARN, ...), the others are ``!GetAtt`` attributes.
    """

    def __init__(
        self,
        template: dict[str, Any],
        attributes: dict[str, dict[str, str]],
        parameters: dict[str, str],
        region: str,
        stack_name: str,
        warn: Callable[[str], None] = print,
    ) -> None:
        self.template = template
        self.attributes = attributes
        self.parameters = parameters
        self.region = region
        self.stack_name = stack_name
        self.warn = warn
        self._conditions: dict[str, bool] = {}

    # -- public ---------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value``; ``AWS::NoValue`` entries are dropped."""
        result = self._resolve(value)
        return None if result is NO_VALUE else result

    def resolve_str(self, value: Any, what: str) -> str:
        """Resolve to a string for an environment variable; unresolvable → ``""`` and a warning."""
        try:
            result = self._resolve(value)
        except UnresolvableError as exc:
            self.warn(f"warning: {what}: {exc}; using an empty value")
            return ""
        if result is NO_VALUE or result is None:
            return ""
        if isinstance(result, bool):
            return "true" if result else "false"
        return str(result)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definition = (self.template.get("Conditions") or {}).get(name)
            if definition is None:
                raise UnresolvableError(f"unknown condition {name}")
            self._conditions[name] = bool(self._resolve(definition))
        return self._conditions[name]

    def pseudo(self, name: str) -> Any:
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise UnresolvableError(f"unknown pseudo parameter {name}")
        return values[name]

    # -- internals ------------------------------------------------------------------------------
    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(str(arg))
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg)
        out = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.attributes:
            return self.attributes[name]["Ref"]
        raise UnresolvableError(f"!Ref {name}: no such parameter or local resource")

    def _get_att(self, name: str, attribute: str) -> str:
        attrs = self.attributes.get(name)
        if attrs is None:
            raise UnresolvableError(f"!GetAtt {name}.{attribute}: no such local resource")
        if attribute not in attrs:
            raise UnresolvableError(f"!GetAtt {name}.{attribute}: attribute not emulated locally")
        return attrs[attribute]

    def _function(self, key: str, arg: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": self._fn_get_att,
            "Fn::Sub": self._fn_sub,
            "Fn::Join": self._fn_join,
            "Fn::If": self._fn_if,
            "Fn::Select": lambda a: self._resolve(a[1])[int(self._resolve(a[0]))],
            "Fn::Split": lambda a: str(self._resolve(a[1])).split(str(a[0])),
            "Fn::Equals": lambda a: self._resolve(a[0]) == self._resolve(a[1]),
            "Fn::Not": lambda a: not self._resolve(a[0]),
            "Fn::And": lambda a: all(self._resolve(c) for c in a),
            "Fn::Or": lambda a: any(self._resolve(c) for c in a),
            "Fn::ToJsonString": lambda a: __import__("json").dumps(self._resolve(a)),
        }
        handler = handlers.get(key)
        if handler is None:
            raise UnresolvableError(f"{key} is not supported by the local stack")
        return handler(arg)

    def _fn_get_att(self, arg: Any) -> str:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        name, attribute = arg[0], self._resolve(arg[1])
        return self._get_att(str(name), str(attribute))

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = str(arg[0]), {k: self._resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = str(arg), {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self._get_att(resource, attribute)
            return str(self._ref(name))

        return _SUB.sub(replace, text)

    def _fn_join(self, arg: Any) -> str:
        delimiter, parts = arg
        return str(delimiter).join(str(p) for p in self._resolve(parts))

    def _fn_if(self, arg: Any) -> Any:
        name, if_true, if_false = arg
        return self._resolve(if_true if self.condition(str(name)) else if_false)
