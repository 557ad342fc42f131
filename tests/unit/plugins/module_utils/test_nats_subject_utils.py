"""NATS subject validation table."""

from __future__ import annotations

import re

import pytest
from ansible_collections.hardened.nats.plugins.module_utils._nats_subject import (
    is_valid_subject,
    permission_subject_error,
    subject_error,
)

VALID = ["foo", "foo.bar", "foo.*", "*.bar", "*", ">", "foo.>", "foo.*.baz.>", "_INBOX.>", "$SYS.REQ.>", "a-b.c_d"]
INVALID = [
    ("", "must not be empty"),
    ("foo..bar", "empty token"),
    (".foo", "empty token"),
    ("foo.", "empty token"),
    ("foo bar", "whitespace"),
    ("foo\tbar", "whitespace"),
    ("foo.\nbar", "whitespace"),
    ("foo*", "'\\*' inside token"),
    ("foo.b*r", "'\\*' inside token"),
    ("foo.>.bar", "'>' before the last token"),
    (">.foo", "'>' before the last token"),
    ("foo.bar>", "'>' inside token"),
    ("foo.>>", "'>' inside token"),
    (None, "must be a string"),
]


@pytest.mark.parametrize("subject", VALID)
def test_valid_subjects(subject):
    assert subject_error(subject) is None
    assert is_valid_subject(subject)


@pytest.mark.parametrize(("subject", "message"), INVALID)
def test_invalid_subjects(subject, message):
    error = subject_error(subject)
    assert error is not None
    assert re.search(message, error), error
    assert not is_valid_subject(subject)


@pytest.mark.parametrize("subject", ["foo.*", ">", "foo.>"])
def test_wildcards_can_be_forbidden(subject):
    assert "must not contain wildcards" in subject_error(subject, wildcards=False)


@pytest.mark.parametrize(
    ("entry", "allow_queue", "ok"),
    [
        ("orders.* workers", True, True),
        ("orders.* workers", False, False),
        ("orders..x workers", True, False),
        ("orders.x work ers", True, False),
        ("orders.x", True, True),
    ],
)
def test_permission_entries_with_queue_groups(entry, allow_queue, ok):
    assert (permission_subject_error(entry, allow_queue) is None) is ok
