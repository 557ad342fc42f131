# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NATS subject validation.

PRIVATE to the hardened.nats collection: no API promise, may change at any time.

A subject is tokens separated by ``.``: no empty token, no whitespace, ``*`` only as
a whole token, ``>`` only as the whole last token.
"""

from __future__ import annotations

import re

_WHITESPACE = re.compile(r"\s")


def subject_error(subject, wildcards=True):
    """Return None if subject is valid, else a sentence saying what is wrong with it."""
    if not isinstance(subject, str):
        return f"must be a string, got {type(subject).__name__}"
    if subject == "":
        return "must not be empty"
    if _WHITESPACE.search(subject):
        return f"{subject!r} contains whitespace"
    tokens = subject.split(".")
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        if token == "":
            return f"{subject!r} has an empty token (leading, trailing or doubled '.')"
        if token == "*" or token == ">":
            if not wildcards:
                return f"{subject!r} must not contain wildcards"
            if token == ">" and index != last:
                return f"{subject!r} uses '>' before the last token"
            continue
        if "*" in token:
            return f"{subject!r} uses '*' inside token {token!r} ('*' must be a whole token)"
        if ">" in token:
            return f"{subject!r} uses '>' inside token {token!r} ('>' must be the whole last token)"
    return None


def is_valid_subject(subject, wildcards=True):
    return subject_error(subject, wildcards) is None


def permission_subject_error(entry, allow_queue):
    """Validate a permission entry: a subject, or for subscriptions 'subject queue'."""
    if isinstance(entry, str) and allow_queue and entry.count(" ") == 1:
        subject, queue = entry.split(" ")
        error = subject_error(subject)
        if error is None and subject_error(queue) is not None:
            error = f"queue group of {entry!r} {subject_error(queue)}"
        return error
    return subject_error(entry)
