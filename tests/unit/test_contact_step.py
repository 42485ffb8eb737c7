"""The inbound processor's contact step on the in-memory store: names from webhooks and profile APIs, at
most one profile fetch a day per customer, failures counted and retried, never in the way of a message."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from infra.local.sandbox import profile_fields, sandbox_profile

from carehooks.channels.meta.ingress import split
from carehooks.channels.meta.profiles import Profile, profile_of
from carehooks.config.settings import settings
from carehooks.domain.models import Channel, Conversation, Direction, MessageEvent
from carehooks.inbound import contacts as step_module
from carehooks.inbound.contacts import contact_step
from carehooks.inbound.processor import Inbound, ProcessResult, process_queued, store_message
from carehooks.outbound.models import OutboundMessage, SendResult, TransientError
from carehooks.rules.step import customer_history
from carehooks.store import Store, keys
from carehooks.store.contacts import Contact, Identity
from carehooks.store.memory import MemoryStore
from carehooks.surveys.capture import answers_survey
from carehooks.wiring.inbound import steps
from carehooks.wiring.store import derivation
from tests.helpers import event_json
from tests.rules_support import rules_document

PAGE = "112233445566778"
CUSTOMER = "7318845612093471"
SENT = datetime(2025, 11, 22, 8, 0, tzinfo=UTC)
NOW = SENT + timedelta(seconds=2)
ME = Identity("messenger", PAGE, CUSTOMER)
CONFIG = rules_document(
    """
    - id: orders
      when: {text: {keyword: [order, news]}}
      then: [acknowledge]
    """
)


@dataclass
class FakeProfiles:
    """Stands in for Meta's profile API: answers ``profile`` or raises ``error``; records the calls."""

    profile: Profile = field(
        default_factory=lambda: Profile("Sheena Nelson", "sheena", "https://x.test/p.png")
    )
    error: Exception | None = None
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def fetch(self, channel: str, account_id: str, contact_id: str) -> Profile:
        self.calls.append((channel, account_id, contact_id))
        if self.error is not None:
            raise self.error
        return self.profile


@dataclass
class FakeDeliver:
    sent: list[OutboundMessage] = field(default_factory=list)

    def __call__(
        self, conv: Conversation, outbound: OutboundMessage, store: Store, now: datetime
    ) -> SendResult:
        self.sent.append(outbound)
        return SendResult(status="sent", platform_message_id=f"m_ack_{len(self.sent)}")


@dataclass
class Processor:
    store: MemoryStore
    profiles: FakeProfiles
    deliver: FakeDeliver
    metrics: list[str]

    def process(self, body: str, now: datetime = NOW) -> ProcessResult:
        inbound = Inbound(
            store=self.store,
            steps=steps(self.store, config=lambda: CONFIG, deliver=self.deliver),
            reopen_window=timedelta(hours=24),
            answers_survey=answers_survey,
            now=lambda: now,
        )
        return process_queued(body, inbound)

    def conversation(self) -> Conversation:
        conv = self.store.latest_conversation(Channel.MESSENGER, PAGE, CUSTOMER)
        assert conv is not None
        return conv


@pytest.fixture
def processor(monkeypatch: pytest.MonkeyPatch) -> Processor:
    profiles = FakeProfiles()
    metrics: list[str] = []
    # A deployment that asks the profile API (FetchContactProfiles=true): the wiring's step, with the fake
    # profile API instead of the Graph API's client.
    monkeypatch.setenv("FETCH_CONTACT_PROFILES", "true")
    settings.cache_clear()
    monkeypatch.setattr(step_module, "ProfileClient", lambda: profiles)
    monkeypatch.setattr(step_module.metrics, "add_metric", lambda name, **_: metrics.append(name))
    return Processor(MemoryStore(derive=derivation(lambda: CONFIG)), profiles, FakeDeliver(), metrics)


def queued(mid: str = "m_1", sent: datetime = SENT, text: str = "where is my order?") -> str:
    raw: dict[str, Any] = event_json("meta/messenger_text.json")
    messaging = raw["entry"][0]["messaging"][0]
    messaging["message"]["mid"] = mid
    messaging["message"]["text"] = text
    messaging["timestamp"] = raw["entry"][0]["time"] = int(sent.timestamp() * 1000)
    (event,) = split(json.dumps(raw).encode(), sent + timedelta(seconds=1))
    return event.model_dump_json()


def resolve(store: Store) -> None:
    conv = store.latest_conversation(Channel.MESSENGER, PAGE, CUSTOMER)
    assert conv is not None
    store.save_conversation(
        Conversation(**{**vars(conv), "status": "resolved", "resolved_at": conv.last_activity_at})
    )


# -- the profile ---------------------------------------------------------------------------------------
def test_a_new_messenger_customer_gets_the_profiles_name_on_contact_and_conversation(
    processor: Processor,
) -> None:
    result = processor.process(queued())
    assert result.stored == 1
    assert processor.profiles.calls == [("messenger", PAGE, CUSTOMER)]
    contact = processor.store.get_contact(ME)
    assert contact is not None
    assert (contact.name, contact.username, contact.avatar_url) == (
        "Sheena Nelson",
        "sheena",
        "https://x.test/p.png",
    )
    assert contact.profile_fetched_at == NOW
    assert contact.last_seen_at == SENT
    assert processor.conversation().contact_name == "Sheena Nelson"
    assert "ProfilesFetched" in processor.metrics


def test_a_follow_up_fetches_nothing_and_writes_nothing_here(processor: Processor) -> None:
    processor.process(queued())
    before = {
        (i["pk"], i["sk"]): i
        for i in processor.store.items()
        if not str(i["sk"]).startswith(("MSG#", "CONV#"))
    }
    processor.process(queued("m_2", SENT + timedelta(minutes=1), "any news?"), NOW + timedelta(minutes=1))
    after = {
        (i["pk"], i["sk"]): i
        for i in processor.store.items()
        if not str(i["sk"]).startswith(("MSG#", "CONV#"))
    }
    assert processor.profiles.calls == [("messenger", PAGE, CUSTOMER)]
    assert after == before


def test_the_profile_is_fetched_at_most_once_a_day(processor: Processor) -> None:
    processor.process(queued())
    resolve(processor.store)
    # A new conversation the same day (after the reopen window): the contact's name, no second fetch
    later = SENT + timedelta(hours=25)
    processor.profiles.profile = Profile("Renamed Person")
    processor.process(queued("m_2", later), later + timedelta(seconds=2))
    assert len(processor.profiles.calls) == 2  # a day and an hour after the first fetch: due again
    assert processor.conversation().contact_name == "Renamed Person"
    resolve(processor.store)
    sooner = later + timedelta(hours=25)
    processor.profiles.profile = Profile("Third Name")
    # The claim of the second fetch still holds for part of the day: simulate a new conversation within it
    processor.store.save_contacts(
        [
            Contact(
                **{
                    **vars(processor.store.get_contact(ME) or Contact(ME, created_at=NOW)),
                    "profile_fetched_at": sooner - timedelta(hours=1),
                }
            )
        ]
    )
    processor.process(queued("m_3", sooner), sooner + timedelta(seconds=2))
    assert len(processor.profiles.calls) == 2
    assert processor.conversation().contact_name == "Renamed Person"


def test_a_failed_fetch_never_blocks_the_message_is_counted_and_retried_with_the_next_message(
    processor: Processor,
) -> None:
    # Given a profile API that fails
    processor.profiles.error = TransientError("Meta answered HTTP 503")
    # When a new customer writes
    result = processor.process(queued())
    # Then the message is stored and acknowledged all the same
    assert result.stored == 1
    assert [m.kind for m in processor.deliver.sent] == ["ack"]
    assert processor.conversation().contact_name is None
    # And the failure is counted, and the claim given back
    assert "ProfileFetchFailed" in processor.metrics
    assert processor.store.get_claim(keys.PROFILE_CLAIM_KIND, f"messenger#{PAGE}#{CUSTOMER}") is None
    assert processor.store.get_contact(ME) is None
    # When the API is back and the customer writes again, the fetch is retried
    processor.profiles.error = None
    processor.process(queued("m_2", SENT + timedelta(minutes=1)), NOW + timedelta(minutes=1))
    assert len(processor.profiles.calls) == 2
    assert processor.conversation().contact_name == "Sheena Nelson"


def test_the_step_never_raises(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(identity: Identity) -> Contact:
        raise RuntimeError("the table is on fire")

    monkeypatch.setattr(processor.store, "get_contact", broken)
    result = processor.process(queued())
    assert result.stored == 1
    assert "ContactStepFailed" in processor.metrics
    assert [m.kind for m in processor.deliver.sent] == ["ack"]


def test_a_webhook_name_needs_no_write_and_no_profile_on_whatsapp() -> None:
    store = MemoryStore()
    profiles = FakeProfiles()
    event = MessageEvent(
        channel=Channel.WHATSAPP,
        account_id="106540352242922",
        contact_id="16505551234",
        platform_message_id="wamid.1",
        sent_at=SENT,
        direction=Direction.IN,
        text="hello",
        contact_name="Sheena Nelson",
    )
    outcome = store_message(store, event, NOW, timedelta(hours=24))
    from carehooks.domain.conversations import StoredMessage

    before = store.items()
    contact_step(store, profiles)(StoredMessage(event=event, outcome=outcome, now=NOW))
    # The conversation holds the name, first and last seen: nothing to write, nothing to fetch
    assert store.items() == before
    assert outcome.conversation is not None
    assert outcome.conversation.contact_name == "Sheena Nelson"
    assert profiles.calls == []


def test_an_agents_override_wins_on_a_new_conversation(processor: Processor) -> None:
    processor.process(queued())
    contact = processor.store.get_contact(ME)
    assert contact is not None
    processor.store.save_contacts([Contact(**{**vars(contact), "name_override": "Mrs Nelson"})])
    resolve(processor.store)
    later = SENT + timedelta(hours=30)
    processor.process(queued("m_2", later), later + timedelta(seconds=2))
    assert processor.conversation().contact_name == "Mrs Nelson"


# -- linked identities in the rules' history ----------------------------------------------------------
def test_the_rules_history_spans_linked_identities() -> None:
    store = MemoryStore()
    wa = Identity("whatsapp", "106540352242922", "16505551234")

    def first(identity: Identity, mid: str, at: datetime) -> Conversation:
        event = MessageEvent(
            channel=Channel(identity.channel),
            account_id=identity.account_id,
            contact_id=identity.contact_id,
            platform_message_id=mid,
            sent_at=at,
            direction=Direction.IN,
            text="hi",
        )
        conv = store_message(store, event, at, timedelta(hours=24)).conversation
        assert conv is not None
        return conv

    earlier = first(wa, "wamid.1", SENT)
    store.save_conversation(Conversation(**{**vars(earlier), "assignee": "alice"}))
    current = first(ME, "m_1", SENT + timedelta(hours=1))
    assert customer_history(store, current) == ()
    store.save_contacts(
        [Contact(ME, created_at=SENT, identities=(wa,)), Contact(wa, created_at=SENT, identities=(ME,))]
    )
    history = customer_history(store, current)
    assert [c.id for c in history] == [earlier.id]
    assert history[0].assignee == "alice"


# -- the sandbox's made-up profiles -------------------------------------------------------------------
def test_the_sandbox_answers_profile_calls_with_stable_names_per_id() -> None:
    url = f"http://127.0.0.1:3000/_sandbox/meta/v25.0/{CUSTOMER}?fields=first_name,last_name,profile_pic"
    one = sandbox_profile(f"/v25.0/{CUSTOMER}", profile_fields(url))
    again = sandbox_profile(f"/v25.0/{CUSTOMER}", profile_fields(url))
    other = sandbox_profile("/v25.0/42", profile_fields(url))
    assert one == again
    assert set(one) == {"id", "first_name", "last_name", "profile_pic"}
    assert (one["first_name"], one["last_name"]) != (other["first_name"], other["last_name"]) or one[
        "profile_pic"
    ] != other["profile_pic"]
    assert profile_of(one).name == f"{one['first_name']} {one['last_name']}"
    instagram = sandbox_profile("/17841400000000001", ["name", "username", "profile_pic"])
    assert set(instagram) == {"id", "name", "username", "profile_pic"}
    assert profile_of(instagram).username == instagram["username"]
    assert profile_fields("http://x/_sandbox/meta/123/subscribed_apps") == []


def test_a_profile_answer_is_read_defensively() -> None:
    assert profile_of({}) == Profile()
    assert profile_of({"first_name": "Ada", "last_name": 7}).name == "Ada"
    assert profile_of({"name": "  ", "profile_pic": "http://insecure.test/p.png"}) == Profile()
    assert profile_of({"name": "x" * 500}).name == "x" * 200


def _stale_contact(store: Store) -> None:
    store.save_contacts(
        [Contact(ME, created_at=SENT, name="Old Name", profile_fetched_at=SENT - timedelta(days=2))]
    )


def test_a_refresh_is_guarded_by_the_days_claim(processor: Processor) -> None:
    # Given a contact whose profile is two days old, and another fetch holding today's claim
    _stale_contact(processor.store)
    scope = f"messenger#{PAGE}#{CUSTOMER}"
    assert processor.store.claim(keys.PROFILE_CLAIM_KIND, scope, NOW, timedelta(days=1))
    # When the customer starts a conversation, nothing is fetched: the stored name is shown
    processor.process(queued())
    assert processor.profiles.calls == []
    assert processor.conversation().contact_name == "Old Name"


def test_a_failed_refresh_gives_its_claim_back(processor: Processor) -> None:
    _stale_contact(processor.store)
    processor.profiles.error = TransientError("Meta answered HTTP 503")
    processor.process(queued())
    assert len(processor.profiles.calls) == 1
    assert processor.store.get_claim(keys.PROFILE_CLAIM_KIND, f"messenger#{PAGE}#{CUSTOMER}") is None
    assert "ProfileFetchFailed" in processor.metrics
    contact = processor.store.get_contact(ME)
    assert contact is not None
    assert contact.name == "Old Name"
    assert processor.conversation().contact_name == "Old Name"
    # And a successful refresh takes and keeps the day's claim
    processor.profiles.error = None
    processor.process(queued("m_2", SENT + timedelta(minutes=1)), NOW + timedelta(minutes=1))
    assert (
        processor.conversation().contact_name == "Old Name"
    )  # a follow-up of a named conversation: no fetch
    resolve(processor.store)
    later = SENT + timedelta(hours=30)
    processor.process(queued("m_3", later), later + timedelta(seconds=2))
    assert len(processor.profiles.calls) == 2
    assert processor.store.get_claim(keys.PROFILE_CLAIM_KIND, f"messenger#{PAGE}#{CUSTOMER}") is not None
    assert processor.conversation().contact_name == "Sheena Nelson"


def test_without_the_setting_no_profile_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """FetchContactProfiles=false (the deployed default): a new Messenger customer costs no profile call."""
    profiles = FakeProfiles()
    monkeypatch.setattr(step_module, "ProfileClient", lambda: profiles)
    monkeypatch.setenv("FETCH_CONTACT_PROFILES", "false")
    settings.cache_clear()
    processor = Processor(MemoryStore(derive=derivation(lambda: CONFIG)), profiles, FakeDeliver(), [])
    processor.process(queued())
    assert profiles.calls == []
    assert processor.conversation().contact_name is None
