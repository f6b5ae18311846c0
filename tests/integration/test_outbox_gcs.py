"""A gs:// outbox on the GCS emulator: objects are created with ifGenerationMatch=0, never
replaced, and the audit chain's heads published there verify."""

from __future__ import annotations

import pytest

from cicl_assets.audit.chain import append_events, read_chain
from cicl_assets.audit.judge import judge_chain
from cicl_assets.outbox import AlreadyPublished, GcsPrefix, open_outbox
from tests.signing_keys import signed_config
from tests.unit.audit.test_chain import event

pytestmark = pytest.mark.gcs


@pytest.fixture
def bucket(gcs_bucket):
    return gcs_bucket


def test_an_object_is_created_once_and_never_replaced(bucket):
    store = open_outbox(f"gs://{bucket.name}/cicl/", git_branch="unused")
    assert store == GcsPrefix(bucket.name, "cicl")
    assert store.create("audit-chain/l/c/heads/000000000001.json", b"first") is True
    assert store.create("audit-chain/l/c/heads/000000000001.json", b"first") is False
    with pytest.raises(AlreadyPublished, match="already exists with other content"):
        store.create("audit-chain/l/c/heads/000000000001.json", b"forged")
    assert bucket.blob("cicl/audit-chain/l/c/heads/000000000001.json").download_as_bytes() == (
        b"first"
    )
    bucket.blob("cicl-other/audit-chain/l/x.json").upload_from_string(b"not ours")
    assert store.list("audit-chain/l") == ["audit-chain/l/c/heads/000000000001.json"]
    assert store.read("audit-chain/l/c/heads/000000000001.json") == b"first"


def test_chain_heads_published_on_gcs_verify(bucket, duckdb_warehouse, tmp_path):
    config = signed_config(tmp_path).model_copy(update={"outbox_uri": f"gs://{bucket.name}/ev"})
    notary = config.chain_notary(duckdb_warehouse)
    append_events(duckdb_warehouse, [event(1), event(2)], notary)
    append_events(duckdb_warehouse, [event(3)], notary)
    verdict = judge_chain(read_chain(duckdb_warehouse), notary)
    assert (verdict.passed, verdict.metadata["heads_checked"]) == (True, 2)
    folder = f"ev/{notary.location.folder}/{verdict.metadata['chain_id']}"
    assert sorted(b.name for b in bucket.list_blobs(prefix="ev/audit-chain/")) == [
        f"{folder}/genesis.json",
        f"{folder}/heads/000000000002.json",
        f"{folder}/heads/000000000003.json",
    ]


def test_a_report_is_published_as_html_once_per_content(bucket):
    from cicl_assets.compliance.report_assets import publish_report

    store = open_outbox(f"gs://{bucket.name}/ob", git_branch="unused")
    first = publish_report(store, "reports/compliance/2026-10", b"<html>one</html>")
    again = publish_report(store, "reports/compliance/2026-10", b"<html>one</html>")
    changed = publish_report(store, "reports/compliance/2026-10", b"<html>two</html>")
    assert [(p.name, p.created) for p in (first, again, changed)] == [
        ("reports/compliance/2026-10/1.html", True),
        ("reports/compliance/2026-10/1.html", False),
        ("reports/compliance/2026-10/2.html", True),
    ]
    assert first.location == f"gs://{bucket.name}/ob/reports/compliance/2026-10/1.html"
    blob = bucket.get_blob("ob/reports/compliance/2026-10/2.html")
    # A browser opens it from the bucket as a page (the emulator keeps no charset parameter).
    assert blob.content_type.split(";")[0] == "text/html"
    assert bucket.get_blob("ob/reports/compliance/2026-10/1.html").download_as_bytes() == (
        b"<html>one</html>"
    )
