"""Is this app still subscribed to each Page's and WhatsApp Business Account's webhooks?

Meta unsubscribes an app from a Page after about an hour of failed deliveries ("Webhooks Disabled");
nothing arrives after that, and nothing says so. ``GET /{id}/subscribed_apps`` (with the Page's or the
WABA's token) lists the subscribed apps; a missing app, or a Page missing a required field, is a
problem, and the check re-subscribes (``POST /{id}/subscribed_apps``) before reporting it.

Settings: ``META_PAGE_IDS`` and ``META_WABA_IDS`` (comma-separated ids to check), ``META_APP_ID`` (the
app to look for; without it any subscribed app counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from carehooks.channels.meta.graph import GraphClient
from carehooks.outbound.models import SendError

Kind = Literal["page", "whatsapp_business_account"]

PAGE_FIELDS = ("messages", "message_echoes", "messaging_postbacks")


@dataclass(frozen=True)
class SubscriptionCheck:
    """The state of one subscription, and what the check did about it."""

    object_id: str
    kind: Kind
    ok: bool
    problem: str | None = None
    subscribed_fields: tuple[str, ...] = ()
    resubscribed: bool | None = None
    resubscribe_error: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def _app_id(item: dict[str, Any]) -> str:
    # Pages list apps as {"id", "name", "subscribed_fields"}; WABAs as {"whatsapp_business_api_data": {...}}.
    nested = item.get("whatsapp_business_api_data")
    source = nested if isinstance(nested, dict) else item
    return str(source.get("id") or "")


def find_problem(answer: dict[str, Any], kind: Kind, app_id: str) -> tuple[str | None, tuple[str, ...]]:
    """(problem or None, the app's subscribed fields) from a ``subscribed_apps`` answer (pure)."""
    data = answer.get("data")
    if not isinstance(data, list):
        return "Meta's answer did not list subscribed apps", ()
    apps = [a for a in data if isinstance(a, dict) and (not app_id or _app_id(a) == app_id)]
    if not apps:
        who = f"app {app_id}" if app_id else "no app"
        return f"{who} is not subscribed to its webhooks (Meta may have disabled them after failures)", ()
    fields = tuple(str(f) for f in (apps[0].get("subscribed_fields") or []))
    if kind == "page":
        missing = [f for f in PAGE_FIELDS if f not in fields]
        if missing:
            return f"subscribed without the fields {', '.join(missing)}", fields
    return None, fields


def check(
    graph: GraphClient, object_id: str, kind: Kind, app_id: str, resubscribe: bool = True
) -> SubscriptionCheck:
    """Check one Page / WABA; re-subscribe when the subscription is missing."""
    path = f"{object_id}/subscribed_apps"
    try:
        answer = graph.call("GET", path, object_id)
    except SendError as exc:
        return SubscriptionCheck(
            object_id, kind, ok=False, problem=f"the subscription could not be checked: {exc.reason}"
        )
    problem, fields = find_problem(answer, kind, app_id)
    if problem is None:
        return SubscriptionCheck(object_id, kind, ok=True, subscribed_fields=fields)
    if not resubscribe:
        return SubscriptionCheck(object_id, kind, ok=False, problem=problem, subscribed_fields=fields)
    body: dict[str, Any] = {"subscribed_fields": ",".join(PAGE_FIELDS)} if kind == "page" else {}
    try:
        graph.call("POST", path, object_id, body, idempotent=True)  # subscribing again is harmless
    except SendError as exc:
        return SubscriptionCheck(
            object_id,
            kind,
            ok=False,
            problem=problem,
            subscribed_fields=fields,
            resubscribed=False,
            resubscribe_error=exc.reason,
        )
    return SubscriptionCheck(
        object_id, kind, ok=False, problem=problem, subscribed_fields=fields, resubscribed=True
    )
