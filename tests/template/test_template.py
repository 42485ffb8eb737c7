"""template.yaml: linters, security scan, the transformed template, and what `sam build` produces."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from infra.template import template as source_template
from tests.template.conftest import ROOT, TEMPLATE, run, tool

pytestmark = pytest.mark.template

AARCH64 = 183  # ELF e_machine of ARM 64-bit
X86_64 = 62


def resources_of(doc: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == kind}


# ---------------------------------------------------------------- linters and scanners
def test_cfn_lint_passes() -> None:
    done = run([ROOT / ".venv" / "bin" / "cfn-lint", TEMPLATE])
    assert done.returncode == 0, done.stdout + done.stderr


def test_sam_validate_lint_passes() -> None:
    done = run([tool("sam"), "validate", "--lint", "--template-file", TEMPLATE])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


def test_checkov_passes_offline() -> None:
    done = run(
        [tool("checkov"), "--skip-download", "-f", TEMPLATE, "--framework", "cloudformation", "--compact"]
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert re.search(r"Failed checks: 0\b", done.stdout), done.stdout[-2000:]


def test_every_accepted_checkov_finding_says_why() -> None:
    for name, resource in source_template()["Resources"].items():
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", []):
            assert skip.get("id"), name
            assert len(str(skip.get("comment", "")).strip()) > 20, (
                f"{name} skips {skip.get('id')} without a reason"
            )


# ---------------------------------------------------------------- functions and layer
def test_every_function_runs_python313_on_arm64_with_the_common_layer(transformed: dict[str, Any]) -> None:
    functions = resources_of(transformed, "AWS::Lambda::Function")
    assert {"MetaWebhookFunction", "InboundProcessorFunction"} <= set(functions)
    for name, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == "python3.13", name
        assert props["Architectures"] == ["arm64"], name
        assert props["Handler"] == "app.handler", name
        assert any("CommonLayer" in str(layer) for layer in props["Layers"]), name
        # X-Ray is the TracingMode parameter on every function, never hard-wired on (cost: docs/cost.md).
        assert props["TracingConfig"] == {"Mode": {"Ref": "TracingMode"}}, name
        variables = props["Environment"]["Variables"]
        for setting in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"):
            assert setting in variables, (name, setting)
        assert variables["TABLE_NAME"] == {"Ref": "Table"}, name
        assert variables["CAREHOOKS_SECRET_ID"] == {"Ref": "PlatformSecret"}, name


def test_tracing_is_a_parameter_that_defaults_to_no_traces() -> None:
    # Active X-Ray on every function costs as much as all DynamoDB writes (docs/cost.md): it is opt-in.
    parameter = source_template()["Parameters"]["TracingMode"]
    assert parameter["Default"] == "PassThrough"
    assert set(parameter["AllowedValues"]) == {"Active", "PassThrough"}
    assert source_template()["Globals"]["Function"]["Tracing"] == {"Ref": "TracingMode"}


def test_the_layers_are_arm64_python313(transformed: dict[str, Any]) -> None:
    layers = resources_of(transformed, "AWS::Lambda::LayerVersion")
    assert len(layers) == 2  # the package, and the charts (matplotlib) for the functions that draw
    for layer in layers.values():
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    for name in ("CommonLayer", "ChartsLayer"):
        metadata = source_template()["Resources"][name]["Metadata"]
        assert metadata == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


def test_only_the_functions_that_draw_get_the_charts_layer(transformed: dict[str, Any]) -> None:
    functions = resources_of(transformed, "AWS::Lambda::Function")
    drawing = {name for name, f in functions.items() if "ChartsLayer" in str(f["Properties"]["Layers"])}
    assert drawing == {"WeeklyDigestFunction"}
    layers = functions["WeeklyDigestFunction"]["Properties"]["Layers"]
    assert len(layers) == 2  # the global CommonLayer, then the charts'
    pinned = (ROOT / "layers" / "charts" / "requirements.txt").read_text()
    assert "matplotlib>=3.10,<4" in pinned
    assert '"matplotlib>=3.10,<4"' in (ROOT / "pyproject.toml").read_text()


def test_the_meta_webhook_routes_go_to_the_meta_webhook_function(transformed: dict[str, Any]) -> None:
    (api,) = resources_of(transformed, "AWS::ApiGatewayV2::Api").values()
    route = api["Properties"]["Body"]["paths"]["/webhooks/meta"]
    assert set(route) >= {"get", "post"}
    for method in ("get", "post"):
        assert "MetaWebhookFunction" in str(route[method]["x-amazon-apigateway-integration"]["uri"])
    env = transformed["Resources"]["MetaWebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert env["INBOUND_QUEUE_URL"] == {"Ref": "InboundQueue"}


def test_the_processor_consumes_the_queue_with_partial_batch_failures(transformed: dict[str, Any]) -> None:
    mappings = [
        m["Properties"]
        for m in resources_of(transformed, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "InboundProcessorFunction"}
    ]
    (mapping,) = mappings
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["InboundQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= mapping["BatchSize"] <= 10  # FIFO event sources take at most 10


# ---------------------------------------------------------------- queue and table
def test_the_inbound_queue_is_fifo_without_content_dedupe_and_redrives_to_a_fifo_dlq(
    transformed: dict[str, Any],
) -> None:
    queue = transformed["Resources"]["InboundQueue"]["Properties"]
    dlq = transformed["Resources"]["InboundDeadLetterQueue"]["Properties"]
    assert queue["FifoQueue"] is True
    # The dedup id is the platform's event id, never a hash of the body (which differs between redeliveries).
    assert queue["ContentBasedDeduplication"] is False
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["InboundDeadLetterQueue", "Arn"]}
    assert 2 <= int(queue["RedrivePolicy"]["maxReceiveCount"]) <= 10
    assert dlq["FifoQueue"] is True
    assert int(dlq["MessageRetentionPeriod"]) == 14 * 24 * 3600
    # A message must stay invisible longer than the processor may run on it.
    timeout = transformed["Resources"]["InboundProcessorFunction"]["Properties"]["Timeout"]
    assert int(queue["VisibilityTimeout"]) >= timeout


def test_the_table_is_on_demand_with_pitr_sse_and_ttl(transformed: dict[str, Any]) -> None:
    table = transformed["Resources"]["Table"]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"
    indexes = {i["IndexName"] for i in props["GlobalSecondaryIndexes"]}
    assert {"ById", "ByStatus"} <= indexes
    assert {i["IndexName"] for i in props["LocalSecondaryIndexes"]} == {"ByConversation"}


# ---------------------------------------------------------------- least privilege
DATA_SERVICES = ("dynamodb:", "sqs:", "secretsmanager:", "kms:", "s3:", "ssm:", "ses:", "sns:", "scheduler:")


def policy_statements(transformed: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement granted to a role or user of the stack (inline and standalone policies)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in transformed["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props["PolicyDocument"]]
        for document in documents:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                found.append((name, statement))
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return [value] if isinstance(value, str) else list(value)


def test_no_policy_grants_wildcard_actions(transformed: dict[str, Any]) -> None:
    statements = policy_statements(transformed)
    assert statements
    offending = [(name, a) for name, s in statements for a in actions(s) if "*" in a]
    assert offending == []


def test_no_function_may_scan_the_table(transformed: dict[str, Any]) -> None:
    # Design principle 6: scheduled work reads due items through sparse indexes, never a Scan.
    scanners = [name for name, s in policy_statements(transformed) if "dynamodb:Scan" in actions(s)]
    assert scanners == []


def test_data_actions_are_granted_on_named_resources_only(transformed: dict[str, Any]) -> None:
    for name, statement in policy_statements(transformed):
        if any(a.startswith(DATA_SERVICES) for a in actions(statement)):
            resource = statement.get("Resource")
            assert resource not in ("*", ["*"]), (name, statement)


def test_the_key_policy_grants_kms_star_only_to_the_account_root(transformed: dict[str, Any]) -> None:
    # The account-root statement is what keeps a customer managed key administrable through IAM; no
    # function or service gets a wildcard on it.
    for key in resources_of(transformed, "AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            if any("*" in a for a in actions(statement)):
                principal = statement["Principal"]
                assert list(principal) == ["AWS"], statement
                assert ":root" in str(principal["AWS"]), statement


# ---------------------------------------------------------------- alarms
def test_alarms_watch_the_dlq_and_the_foundation_functions(transformed: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in resources_of(transformed, "AWS::CloudWatch::Alarm").values()]
    assert all(a.get("AlarmActions") for a in alarms)

    def watched(metric: str, dimension: dict[str, Any]) -> bool:
        return any(a["MetricName"] == metric and dimension in a["Dimensions"] for a in alarms)

    assert watched(
        "ApproximateNumberOfMessagesVisible",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["InboundDeadLetterQueue", "QueueName"]}},
    )
    for function in ("MetaWebhookFunction", "InboundProcessorFunction"):
        assert watched("Errors", {"Name": "FunctionName", "Value": {"Ref": function}}), function


# ---------------------------------------------------------------- dependencies and sam build
def requirement_names(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0]
            out[name.lower().replace("_", "-")] = line.replace(" ", "").lower()
    return out


def test_the_layer_requirements_mirror_the_project_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = (ROOT / "layers" / "common" / "requirements.txt").read_text().splitlines()
    assert requirement_names(layer) == requirement_names(project)


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


def test_sam_build_packages_the_layer_for_arm64(sam_build: Path) -> None:
    layer = sam_build / "CommonLayer" / "python"
    assert (layer / "carehooks" / "__init__.py").is_file()
    assert (layer / "carehooks" / "store" / "table.py").is_file()
    native = {p.relative_to(layer).parts[0]: p for p in layer.rglob("*.so")}
    assert {"pydantic_core", "re2"} <= set(native), sorted(native)
    machines = {str(p.relative_to(layer)): elf_machine(p) for p in layer.rglob("*.so")}
    assert {p: m for p, m in machines.items() if m != AARCH64} == {}


def test_sam_build_keeps_function_packages_thin(sam_build: Path) -> None:
    for name in ("MetaWebhookFunction", "InboundProcessorFunction"):
        built = sam_build / name
        assert (built / "app.py").is_file()
        # The shared package and its dependencies come from the layer only.
        assert not (built / "carehooks").exists()
        assert not list(built.rglob("*.so"))


def test_the_elf_check_can_tell_x86_from_arm(tmp_path: Path) -> None:
    import sys

    # The interpreter running the tests is a real ELF binary of this machine.
    machine = elf_machine(Path(sys.executable).resolve())
    assert machine in (AARCH64, X86_64)
