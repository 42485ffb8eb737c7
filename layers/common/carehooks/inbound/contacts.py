"""The inbound processor's contact step: who the customer is, after their message is stored.

For Messenger and Instagram, whose webhooks carry no name, it asks the platform's profile API at most
once a day per customer (a refresh is guarded by a ``profile`` claim with a one-day TTL) and writes what
it learns on the contact item. The contact's name (an agent's override, else the platform's) is written on
the customer's current conversation, where lists, emails and acknowledgement texts read it.

Never on the webhook's path and never in the way of a message: the step runs after the message is
stored, and never raises. A failed profile fetch is counted (``ProfileFetchFailed``), its claim given
back, so a later message retries it. A customer's follow-up costs no write here: the step only reads
(one contact read) when the conversation is new, or still has no name on a channel with a profile API;
it writes when a profile is fetched or a name is new to the conversation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from carehooks.channels.meta.profiles import Profile, ProfileClient, has_profile_api
from carehooks.domain.conversations import Step, StoredMessage
from carehooks.domain.models import Direction
from carehooks.observability import logger, metrics
from carehooks.store import ConflictError, Store, keys
from carehooks.store.contacts import Contact, Identity, show_name_on_latest

PROFILE_TTL = timedelta(days=1)
SAVE_ATTEMPTS = 3


class Profiles(Protocol):
    def fetch(self, channel: str, account_id: str, contact_id: str) -> Profile: ...


def contact_step(store: Store, profiles: Profiles | None = None, *, fetch_profiles: bool = True) -> Step:
    """The step, bound to its store and profile client (the Graph API's unless one is given).

    ``fetch_profiles`` (setting ``FETCH_CONTACT_PROFILES``, template parameter ``FetchContactProfiles``):
    ask Messenger's and Instagram's profile API for names. A first fetch costs a new customer's
    conversation two write units (the contact item, the name on the conversation): 18 instead of 16.
    """

    def step(stored: StoredMessage) -> None:
        try:
            note_contact(stored, store, profiles or ProfileClient(), fetch_profiles=fetch_profiles)
        except Exception:
            # The message is stored and its other steps ran: nothing here may make the record retry.
            metrics.add_metric(name="ContactStepFailed", unit="Count", value=1)
            logger.warning(
                "contact not updated; a later message updates it",
                extra={"channel": stored.event.channel},
                exc_info=True,
            )

    return step


def profile_scope(identity: Identity) -> str:
    return f"{identity.channel}#{identity.account_id}#{identity.contact_id}"


def note_contact(
    stored: StoredMessage, store: Store, profiles: Profiles, *, fetch_profiles: bool = True
) -> None:
    """Fetch the profile when it is due and write it on the contact; show the contact's name on the
    conversation. A conversation's start writes no contact item of its own: what the item would hold
    (first and last seen, the webhook's name) its conversations hold already (``api.contacts.known``)."""
    event, outcome = stored.event, stored.outcome
    conv = outcome.conversation
    if outcome.duplicate or conv is None or event.direction is not Direction.IN:
        return
    if conv.public or conv.thread_id or event.per_thread:
        return  # a public comment thread: many authors, no one customer
    fetches = fetch_profiles and has_profile_api(conv.channel)
    if not outcome.new_conversation and (conv.contact_name or not fetches):
        return  # a follow-up: nothing to learn, and no write on the per-message path
    identity = Identity(conv.channel, conv.account_id, conv.contact_id)
    contact = store.get_contact(identity)
    profile = None
    if fetches and _due(contact, stored.now):
        # A refresh is guarded by the one-day claim. The first fetch needs none: the contact's creation
        # is a conditional put, and one customer's messages are processed in order (one FIFO group).
        profile = _fetch(store, profiles, identity, stored.now, claim=contact is not None)
    if profile is not None:
        contact = _save(store, identity, stored, profile, contact)
    name = (contact.display_name if contact else None) or event.contact_name
    if name and name != conv.contact_name:
        show_name_on_latest(store, identity, name)


def _due(contact: Contact | None, now: datetime) -> bool:
    fetched = contact.profile_fetched_at if contact else None
    return fetched is None or now - fetched >= PROFILE_TTL


def _fetch(
    store: Store, profiles: Profiles, identity: Identity, now: datetime, *, claim: bool
) -> Profile | None:
    """The customer's profile; None when another fetch holds the day's claim or the fetch failed (counted,
    and the claim given back so that a later message retries)."""
    scope = profile_scope(identity)
    if claim and not store.claim(keys.PROFILE_CLAIM_KIND, scope, now, PROFILE_TTL):
        return None
    try:
        profile = profiles.fetch(identity.channel, identity.account_id, identity.contact_id)
    except Exception as exc:
        metrics.add_metric(name="ProfileFetchFailed", unit="Count", value=1)
        logger.warning(
            "profile fetch failed; retried with a later message",
            extra={"channel": identity.channel, "reason": str(exc)[:300], "error": type(exc).__name__},
        )
        if claim:
            store.release_claim(keys.PROFILE_CLAIM_KIND, scope)
        return None
    metrics.add_metric(name="ProfilesFetched", unit="Count", value=1)
    return profile


def _save(
    store: Store,
    identity: Identity,
    stored: StoredMessage,
    profile: Profile | None,
    contact: Contact | None,
) -> Contact | None:
    """Write the contact with what this message taught (re-read and re-applied on a concurrent change)."""
    for _ in range(SAVE_ATTEMPTS):
        changed = _apply(contact or Contact(identity=identity, created_at=stored.now), stored, profile)
        if changed == contact:
            return contact  # a redelivery: already written
        try:
            return store.save_contacts([changed])[0]
        except ConflictError:
            contact = store.get_contact(identity)
    return contact


def _apply(contact: Contact, stored: StoredMessage, profile: Profile | None) -> Contact:
    event = stored.event
    # The stored message's time: a redelivery's event may carry a new receipt time (no platform time).
    at = stored.outcome.message.sent_at if stored.outcome.message else event.sent_at
    seen = contact.last_seen_at
    updated = replace(
        contact,
        last_seen_at=at if seen is None or at > seen else seen,
        name=event.contact_name or contact.name,
    )
    if profile is not None:
        updated = replace(
            updated,
            name=profile.name or updated.name,
            username=profile.username or updated.username,
            avatar_url=profile.avatar_url or updated.avatar_url,
            profile_fetched_at=stored.now,
        )
    return updated
