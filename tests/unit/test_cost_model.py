"""The cost model (tests/bench/cost.py): each line computed by hand, and each input moving only its lines."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from infra.template import load

from tests.bench import cost
from tests.bench.cost import (
    PRICES,
    SEATS,
    Figures,
    TemplateFacts,
    Units,
    figures_from,
    figures_to_json,
    fixed_monthly,
    lambda_sampled_share,
    load_figures,
    per_million,
    runs_per_month,
    storage_per_month_kept,
    template_facts,
)

FACTS = TemplateFacts(
    memory_mb={
        "MetaWebhookFunction": 256,
        "XWebhookFunction": 256,
        "TelegramWebhookFunction": 256,
        "TwilioWebhookFunction": 256,
        "InboundProcessorFunction": 512,
        "AgentApiFunction": 512,
        "SlaMonitorFunction": 512,
    },
    schedules={"SlaMonitorFunction": "rate(1 minute)"},
    secrets=2,
    kms_keys=1,
    alarms=10,
    functions=(
        "MetaWebhookFunction",
        "XWebhookFunction",
        "TelegramWebhookFunction",
        "TwilioWebhookFunction",
        "InboundProcessorFunction",
        "AgentApiFunction",
        "SlaMonitorFunction",
    ),
)
# The defaults: 20 % new conversations, 0.5 replies and 1 agent read per inbound message, one event per
# webhook call, one record per processor batch.
FIGURES = Figures()


def by_service(lines: list[cost.Line]) -> dict[str, float]:
    return {line.service: line.usd for line in lines}


def line(lines: list[cost.Line], service: str) -> cost.Line:
    (found,) = [item for item in lines if item.service == service]
    return found


# ---------------------------------------------------------------- one hand-computed case per line
@pytest.mark.parametrize(
    ("service", "quantity", "usd"),
    [
        # 200k new x 42 + 800k follow-ups x 16 + 500k replies x 12 = 27.2 M WRU at $0.625/M
        ("DynamoDB writes", 27_200_000, 17.00),
        # 200k x 3 + 800k x 2.5 + 500k x 5.5 = 5.35 M RRU at $0.125/M
        ("DynamoDB reads (message path)", 5_350_000, 0.66875),
        # 1 M reads x 4 RRU
        ("DynamoDB reads (agents opening conversations)", 4_000_000, 0.50),
        # 1 M webhook + 1 M processor + 1.5 M agent API + 4.5 M EventsFunction invocations at $0.20/M
        ("Lambda requests", 8_000_000, 1.60),
        # webhook 1 M x 25 ms x 0.25 GB = 6,250; processor (200k x 400 + 800k x 60) ms x 0.5 GB = 64,000;
        # agent API (500k x 400 + 1 M x 40) ms x 0.5 GB = 120,000; EventsFunction 4.5 M x 50 ms x 0.25 GB
        # = 56,250
        ("Lambda duration (arm64)", 246_500, 246_500 * 0.0000133334),
        # 1 M SendMessageBatch + 1 M receives + 1 M deletes at $0.50/M
        ("SQS FIFO", 3_000_000, 1.50),
        # 1 M webhook calls + 1.5 M agent API requests at $1.00/M
        ("API Gateway HTTP API", 2_500_000, 2.50),
        # 3.5 M x 800 + 1 M x 380 + 200k x 1700 + 800k x 900 + 500k x 500 + 2.5 M x 260 = 5.14e9 bytes
        ("CloudWatch Logs ingestion", 5.14e9 / 2**30, 5.14e9 / 2**30 * 0.50),
        # 1 M x 0.001 emails at $0.10 / 1,000
        ("SES", 1_000, 0.10),
        # 2.5 domain events per inbound message at $1.00/M
        ("EventBridge PutEvents (domain events)", 2_500_000, 2.50),
        # one archive object per inbound event at $0.005 / 1,000
        ("S3 raw archive PUTs", 1_000_000, 5.00),
    ],
)
def test_each_line_per_million_matches_the_hand_computed_figure(
    service: str, quantity: float, usd: float
) -> None:
    found = line(per_million(FIGURES, FACTS), service)
    assert found.quantity == pytest.approx(quantity)
    assert found.usd == pytest.approx(usd)


def test_passthrough_tracing_records_no_traces() -> None:
    assert not [item for item in per_million(FIGURES, FACTS) if item.price == "xray_recorded"]
    assert not [item for item in fixed_monthly(FIGURES, FACTS) if item.price == "xray_recorded"]


def test_active_tracing_records_every_invocation_below_one_request_a_second() -> None:
    # 1 M messages a month is 0.39 webhook calls a second: Lambda's reservoir takes every one. EventsFunction
    # (4.5 M stream batches of one record, 1.74 a second) keeps its first 2,592,000 and 5 % of the rest.
    xray = line(per_million(FIGURES, FACTS, "Active"), "X-Ray traces (TracingMode=Active)")
    assert xray.quantity == pytest.approx(3_500_000 + 2_592_000 + 0.05 * (4_500_000 - 2_592_000))
    assert xray.usd == pytest.approx(30.937)


def test_active_tracing_samples_five_percent_above_one_request_a_second() -> None:
    # 10 M a month: webhook and processor 3.858/s each, agent API 5.787/s.
    xray = line(
        per_million(replace(FIGURES, monthly_messages=10_000_000), FACTS, "Active"),
        "X-Ray traces (TracingMode=Active)",
    )
    webhook = (1 + 0.05 * (10_000_000 / 2_592_000 - 1)) / (10_000_000 / 2_592_000)
    agent = (1 + 0.05 * (15_000_000 / 2_592_000 - 1)) / (15_000_000 / 2_592_000)
    events = (1 + 0.05 * (45_000_000 / 2_592_000 - 1)) / (45_000_000 / 2_592_000)
    assert xray.quantity == pytest.approx(2 * 1_000_000 * webhook + 1_500_000 * agent + 4_500_000 * events)
    assert xray.usd == pytest.approx(5 * (2 * webhook + 1.5 * agent + 4.5 * events), abs=1e-3)


def test_lambda_sampling_keeps_the_first_request_a_second_and_five_percent_of_the_rest() -> None:
    assert lambda_sampled_share(2_592_000) == 1.0  # one a second
    assert lambda_sampled_share(100) == 1.0
    assert lambda_sampled_share(3 * 2_592_000) == pytest.approx(1.1 / 3)


def test_an_unknown_tracing_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="tracing mode"):
        per_million(FIGURES, FACTS, "Disabled")


@pytest.mark.parametrize(
    ("service", "quantity", "usd"),
    [
        ("EventBridge Scheduler", 43_200, 0.0432),
        ("Lambda requests (scheduled functions)", 43_200, 0.00864),
        ("Lambda duration (scheduled functions)", 6_480, 6_480 * 0.0000133334),  # 43,200 x 0.3 s x 0.5 GB
        ("DynamoDB reads (sweeps with nothing due)", 108_000, 0.0135),
        ("SQS FIFO (idle long polling)", 648_000, 0.324),  # 5 pollers x 3 a minute x 43,200 minutes
        ("KMS customer-managed keys", 1, 1.00),
        # 7 functions x 8,640 secret reads + 7 x 8,640 table-key + 5 queue principals x 8,640
        ("KMS requests", 164_160, 0.49248),
        ("Secrets Manager secrets", 2, 0.80),
        ("Secrets Manager API calls", 60_480, 0.3024),  # 7 warm environments, one read every 300 s
        ("CloudWatch alarms", 10, 1.00),
        ("CloudWatch custom metrics (EMF)", 15, 4.50),
    ],
)
def test_each_fixed_monthly_line_matches_the_hand_computed_figure(
    service: str, quantity: float, usd: float
) -> None:
    found = line(fixed_monthly(FIGURES, FACTS), service)
    assert found.quantity == pytest.approx(quantity)
    assert found.usd == pytest.approx(usd)


def test_active_tracing_adds_the_scheduled_runs_to_the_fixed_cost() -> None:
    passthrough = by_service(fixed_monthly(FIGURES, FACTS))
    active = by_service(fixed_monthly(FIGURES, FACTS, "Active"))
    (added,) = set(active) - set(passthrough)
    assert active[added] == pytest.approx(43_200 * 5 / 1_000_000)
    assert {k: active[k] for k in passthrough} == passthrough


def test_kept_data_costs_storage_and_backup_per_month() -> None:
    lines = storage_per_month_kept(FIGURES)
    gb = 1_000_000 * 2500 / 2**30
    assert line(lines, "DynamoDB storage").usd == pytest.approx(gb * 0.25)
    assert line(lines, "DynamoDB point-in-time recovery").usd == pytest.approx(gb * 0.20)
    assert line(lines, "CloudWatch Logs storage").usd == pytest.approx(5.14e9 / 2**30 * 0.03)


def test_the_monthly_bill_is_fixed_plus_volume_times_the_per_million_cost() -> None:
    variable = cost.total(per_million(FIGURES, FACTS)) + cost.total(storage_per_month_kept(FIGURES))
    fixed = cost.total(fixed_monthly(FIGURES, FACTS))
    assert cost.monthly_bill(FIGURES, FACTS, 1_000_000) == pytest.approx(fixed + variable)
    assert cost.monthly_bill(FIGURES, FACTS, 100_000) == pytest.approx(fixed + variable / 10)


# ---------------------------------------------------------------- an input moves only its lines
@pytest.mark.parametrize(
    ("changed", "moved"),
    [
        (replace(FIGURES, followup=Units(5, 2.5)), {"DynamoDB writes"}),
        (replace(FIGURES, new=Units(16, 3)), {"DynamoDB writes"}),
        (replace(FIGURES, reply=Units(12, 2)), {"DynamoDB reads (message path)"}),
        (replace(FIGURES, rru_per_agent_read=1), {"DynamoDB reads (agents opening conversations)"}),
        (
            replace(FIGURES, duration_ms=replace(FIGURES.duration_ms, processor_new=100)),
            {"Lambda duration (arm64)"},
        ),
        (
            replace(FIGURES, log_bytes=replace(FIGURES.log_bytes, api_access=100)),
            {"CloudWatch Logs ingestion"},
        ),
        (replace(FIGURES, ses_emails_per_inbound=0.01), {"SES"}),
        (replace(FIGURES, monthly_messages=50_000_000), {"X-Ray traces (TracingMode=Active)"}),
        # Batching changes what every request-priced service is asked to do, and nothing else.
        (
            replace(FIGURES, records_per_batch=5),
            {"Lambda requests", "SQS FIFO", "CloudWatch Logs ingestion", "X-Ray traces (TracingMode=Active)"},
        ),
        (
            replace(FIGURES, events_per_webhook_call=2),
            {
                "Lambda requests",
                "Lambda duration (arm64)",
                "SQS FIFO",
                "API Gateway HTTP API",
                "CloudWatch Logs ingestion",
                "X-Ray traces (TracingMode=Active)",
            },
        ),
    ],
)
def test_changing_an_input_moves_only_its_lines(changed: Figures, moved: set[str]) -> None:
    before = by_service(per_million(FIGURES, FACTS, "Active"))
    after = by_service(per_million(changed, FACTS, "Active"))
    assert {service for service in before if before[service] != pytest.approx(after[service])} == moved


def test_tracing_mode_moves_only_the_xray_line() -> None:
    passthrough = by_service(per_million(FIGURES, FACTS))
    active = by_service(per_million(FIGURES, FACTS, "Active"))
    assert set(active) - set(passthrough) == {"X-Ray traces (TracingMode=Active)"}
    assert {k: active[k] for k in passthrough} == passthrough


# ---------------------------------------------------------------- figures.json and template.yaml
def test_figures_override_only_the_keys_they_give() -> None:
    figures = figures_from({"units": {"followup": {"wru": 5, "rru": 2}}, "duration_ms": {"webhook_call": 30}})
    assert figures.followup == Units(5, 2)
    assert figures.new == FIGURES.new
    assert figures.duration_ms.webhook_call == 30
    assert figures.duration_ms.processor_new == FIGURES.duration_ms.processor_new


def test_figures_round_trip_through_json() -> None:
    assert figures_from(figures_to_json(FIGURES)) == FIGURES


@pytest.mark.parametrize("document", [{"new_shares": 0.3}, {"units": {"newconv": {"wru": 1, "rru": 1}}}])
def test_a_misspelt_figure_is_refused(document: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="unknown"):
        figures_from(document)


def test_saved_figures_load_back_and_keep_the_comments(tmp_path: Path) -> None:
    path = tmp_path / "figures.json"
    path.write_text('{"_about": "what these are", "new_share": 0.3}')
    measured = replace(load_figures(path), followup=Units(5, 2), measured_on="2026-12-08")
    cost.save_figures(measured, path)
    assert load_figures(path) == measured
    assert '"_about": "what these are"' in path.read_text()


def test_the_committed_figures_file_loads() -> None:
    figures = load_figures()
    assert figures.followup.wru > 0
    assert "units" in figures.measured


def test_a_missing_figures_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_figures(tmp_path / "none.json") == Figures()


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 minute)", 43_200),
        ("rate(15 minutes)", 2_880),
        ("rate(2 hours)", 360),
        ("rate(1 day)", 30),
        ("cron(0 7 ? * MON *)", 30 / 7),
        ("cron(0 7 ? * MON,THU *)", 60 / 7),
        ("cron(30 6 * * ? *)", 30),
    ],
)
def test_schedules_are_counted_over_a_thirty_day_month(expression: str, runs: float) -> None:
    assert runs_per_month(expression) == pytest.approx(runs)


@pytest.mark.parametrize(
    "expression", ["cron(0/5 * * * ? *)", "at(2026-12-24T10:00:00)", "cron(0 7 ? * FOO *)"]
)
def test_a_schedule_the_model_cannot_count_is_refused(expression: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        runs_per_month(expression)


def test_memory_schedules_secrets_and_keys_come_from_the_template() -> None:
    facts = template_facts(load())
    assert facts.memory_mb["MetaWebhookFunction"] == 256
    assert facts.memory_mb["InboundProcessorFunction"] == 512  # the Globals default
    assert facts.schedules["SlaMonitorFunction"] == "rate(1 minute)"
    assert facts.secrets == 3  # platform, survey signing, erasure key
    assert facts.kms_keys == 1
    assert facts.alarms >= 1
    # The model prices these three functions' traffic: they must exist under these names.
    assert {"InboundProcessorFunction", "AgentApiFunction", *cost.WEBHOOKS} <= set(facts.functions)


# ---------------------------------------------------------------- prices and output
def test_every_price_has_a_unit_a_dated_source_and_a_verification_status() -> None:
    for key, price in PRICES.items():
        assert price.usd > 0, key
        assert price.per > 0, key
        assert price.unit, key
        assert "https://" in price.source, key
        assert "checked 2026-12-05" in price.source, key
        assert price.status in {"AWS page", "secondary", "unverified"}, key
    for seat in SEATS:
        assert seat.usd_per_agent_month > 0
        assert "checked 2026-12-05" in seat.source
        assert seat.status in {"AWS page", "secondary", "unverified"}


def test_the_dynamodb_prices_are_the_november_2024_on_demand_prices() -> None:
    assert PRICES["dynamodb_wru"].cost(1_000_000) == pytest.approx(0.625)
    assert PRICES["dynamodb_rru"].cost(1_000_000) == pytest.approx(0.125)


def test_the_table_shows_both_tracing_totals_the_fixed_cost_and_the_seat_comparison() -> None:
    text = cost.render(FIGURES, FACTS)
    assert "total, TracingMode=PassThrough (default)** | | | **$37.05**" in text
    assert "total, TracingMode=Active** | | | **$67.99**" in text
    assert "Fixed monthly cost" in text
    assert "| Zendesk Suite Team ($55 an agent, unverified) | $550 | $550 |" in text
