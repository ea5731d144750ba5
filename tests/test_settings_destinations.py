"""destinations -> Settings.destinations: what each entry becomes, and each refusal's exact words.

A refusal names the key (down to the option: `destinations.fileFormat`), quotes the value as
given and says what is allowed, so each case below compares the whole message.
"""

from __future__ import annotations

import pytest

from config.settings import CLOUD_WATCH_LOGS, S3, Destination, ObjectLock, settings_from_config
from tests.test_settings import refused, with_values

CLOUD_WATCH = {"type": CLOUD_WATCH_LOGS}
GIVEN_BUCKET = "arn:aws:s3:::central-logs/flow"
ENTRY_ALLOWED = ('{"type": "cloud-watch-logs"} or {"type": "s3", "fileFormat": "parquet", '
                 '"hiveCompatiblePartitions": true, "perHourPartition": true, "retentionDays": 365, '
                 '"objectLock": {"mode": "GOVERNANCE", "days": 90}} (or "bucketArn" instead of the last two)')
OBJECT_LOCK_ALLOWED = '{"mode": "GOVERNANCE" or "COMPLIANCE", "days": a whole number of days >= 1}'


def with_s3(**options) -> list[dict]:
    """The stack's CloudWatch Logs group (monitoring reads it) and an s3 destination with `options`."""
    return [CLOUD_WATCH, {"type": S3, **options}]


def invalid(key: str, quoted: str, allowed: str) -> str:
    """The whole refusal for `key`: the value as the stack file gave it (JSON) and what is allowed."""
    return f"config vpc-flow-logs:{key} = {quoted} is invalid: {allowed}"


REFUSALS = [
    pytest.param([], invalid("destinations", "[]", 'at least one destination, e.g. [{"type": "cloud-watch-logs"}]'),
                 id="empty-list"),
    pytest.param([CLOUD_WATCH, CLOUD_WATCH],
                 invalid("destinations", '{"type": "cloud-watch-logs"}', "each destination once: one CloudWatch Logs "
                         "group, one created bucket and each bucketArn once"), id="cloud-watch-twice"),
    pytest.param([{"type": "ftp"}], invalid("destinations", '{"type": "ftp"}', ENTRY_ALLOWED), id="unknown-type"),
    pytest.param([{"type": CLOUD_WATCH_LOGS, "fileFormat": "parquet"}],
                 invalid("destinations.fileFormat", '"parquet"', "only on an s3 destination: a cloud-watch-logs "
                         "destination takes no options (its group is set by logRetentionDays, logKmsKeyArn, "
                         "createLogKmsKey and protectLogs)"), id="option-on-cloud-watch"),
    pytest.param(with_s3(compression="gzip", encryption="aes"),
                 invalid("destinations.compression", '"gzip"', "an s3 option: fileFormat, hiveCompatiblePartitions, "
                         "perHourPartition, retentionDays, objectLock, bucketArn"), id="unknown-s3-options"),
    pytest.param(with_s3(fileFormat="orc"),
                 invalid("destinations.fileFormat", '"orc"', "one of plain-text, parquet"), id="file-format"),
    pytest.param(with_s3(bucketArn="arn:aws:s3:::Upper"),
                 invalid("destinations.bucketArn", '"arn:aws:s3:::Upper"', "an S3 bucket ARN, arn:aws:s3:::<bucket> "
                         "or arn:aws:s3:::<bucket>/<prefix>"), id="bucket-arn"),
    pytest.param(with_s3(bucketArn=GIVEN_BUCKET, retentionDays=30),
                 invalid("destinations.retentionDays", "30", "unset with bucketArn: the stack creates no bucket, so "
                         "its owner sets expiry and object lock"), id="retention-on-given-bucket"),
    pytest.param(with_s3(retentionDays=0), invalid("destinations.retentionDays", "0", "a whole number of days >= 1"),
                 id="retention-zero"),
    pytest.param(with_s3(retentionDays=True),
                 invalid("destinations.retentionDays", "true", "a whole number of days >= 1"), id="retention-boolean"),
    pytest.param(with_s3(retentionDays="30"),
                 invalid("destinations.retentionDays", '"30"', "a whole number of days >= 1"), id="retention-string"),
    pytest.param(with_s3(retentionDays=30, objectLock={"mode": "COMPLIANCE", "days": 31}),
                 invalid("destinations.objectLock", '{"mode": "COMPLIANCE", "days": 31}',
                         "days at most retentionDays (30): expiry cannot remove locked records"),
                 id="lock-outlasts-retention"),
    pytest.param(with_s3(objectLock={"mode": "GOVERNANCE", "days": 0}),
                 invalid("destinations.objectLock", '{"mode": "GOVERNANCE", "days": 0}', OBJECT_LOCK_ALLOWED),
                 id="lock-zero-days"),
    pytest.param(with_s3(objectLock={"mode": "GOVERNANCE", "days": True}),
                 invalid("destinations.objectLock", '{"mode": "GOVERNANCE", "days": true}', OBJECT_LOCK_ALLOWED),
                 id="lock-boolean-days"),
    pytest.param(with_s3(objectLock={"mode": "GOVERNANCE", "days": 1, "legalHold": True}),
                 invalid("destinations.objectLock", '{"mode": "GOVERNANCE", "days": 1, "legalHold": true}',
                         OBJECT_LOCK_ALLOWED), id="lock-extra-key"),
    pytest.param(with_s3(hiveCompatiblePartitions="yes"),
                 invalid("destinations.hiveCompatiblePartitions", '"yes"', "true or false"), id="hive-not-boolean"),
    pytest.param(with_s3(perHourPartition=1),
                 invalid("destinations.perHourPartition", "1", "true or false"), id="per-hour-not-boolean"),
]


@pytest.mark.parametrize("destinations, message", REFUSALS)
def test_invalid_destinations_are_refused_with_key_value_and_what_is_allowed(destinations, message):
    assert refused(destinations=destinations) == message, f"vpc-flow-logs:destinations = {destinations}"


ACCEPTED = [
    pytest.param({}, Destination(S3, retention_days=365), id="created-bucket-defaults"),
    pytest.param({"fileFormat": "parquet", "hiveCompatiblePartitions": True, "perHourPartition": True,
                  "retentionDays": 1, "objectLock": {"mode": "COMPLIANCE", "days": 1}},
                 Destination(S3, file_format="parquet", hive_compatible_partitions=True, per_hour_partition=True,
                             retention_days=1, object_lock=ObjectLock("COMPLIANCE", 1)),
                 id="every-option-at-its-least"),
    pytest.param({"hiveCompatiblePartitions": True}, Destination(S3, hive_compatible_partitions=True,
                                                                 retention_days=365), id="hive-partitions-only"),
    pytest.param({"perHourPartition": True}, Destination(S3, per_hour_partition=True, retention_days=365),
                 id="per-hour-partition-only"),
    pytest.param({"retentionDays": 90, "objectLock": {"mode": "GOVERNANCE", "days": 90}},
                 Destination(S3, retention_days=90, object_lock=ObjectLock("GOVERNANCE", 90)),
                 id="lock-as-long-as-retention"),
    pytest.param({"bucketArn": GIVEN_BUCKET, "fileFormat": "parquet"},
                 Destination(S3, file_format="parquet", bucket_arn=GIVEN_BUCKET), id="given-bucket"),
]


@pytest.mark.parametrize("options, expected", ACCEPTED)
def test_s3_destination_is_read_as_given(options, expected):
    destinations = settings_from_config("lab", with_values(destinations=with_s3(**options))).destinations
    assert destinations == (Destination(CLOUD_WATCH_LOGS), expected), f"vpc-flow-logs:destinations = {options}"



@pytest.mark.parametrize("arn", ["arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                                 "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/flow-logs"])
def test_kms_key_arn_is_kept_as_given(arn):
    settings = settings_from_config("lab", with_values(logKmsKeyArn=arn))
    assert settings.log_kms_key_arn == arn, f"vpc-flow-logs:logKmsKeyArn = {arn}"


def test_kms_key_arn_is_optional():
    assert settings_from_config("lab", with_values(logKmsKeyArn=None)).log_kms_key_arn is None, \
        "vpc-flow-logs:logKmsKeyArn unset"


@pytest.mark.parametrize("arn", ["alias/flow-logs", "arn:aws:kms:ap-northeast-1:1234:key/k",
                                 "ARN:AWS:KMS:AP-NORTHEAST-1:123456789012:KEY/K"])
def test_kms_key_arn_that_is_not_one_is_refused(arn):
    assert refused(logKmsKeyArn=arn) == invalid(
        "logKmsKeyArn", f'"{arn}"', "a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>"), \
        f"vpc-flow-logs:logKmsKeyArn = {arn}"
