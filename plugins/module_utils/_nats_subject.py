# Copyright: hardened.nats contributors
# Apache License 2.0 (see LICENSE)
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
        return "must be a string, got %s" % type(subject).__name__
    if subject == "":
        return "must not be empty"
    if _WHITESPACE.search(subject):
        return "%r contains whitespace" % subject
    tokens = subject.split(".")
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        if token == "":
            return "%r has an empty token (leading, trailing or doubled '.')" % subject
        if token == "*" or token == ">":
            if not wildcards:
                return "%r must not contain wildcards" % subject
            if token == ">" and index != last:
                return "%r uses '>' before the last token" % subject
            continue
        if "*" in token:
            return "%r uses '*' inside token %r ('*' must be a whole token)" % (subject, token)
        if ">" in token:
            return "%r uses '>' inside token %r ('>' must be the whole last token)" % (subject, token)
    return None


def is_valid_subject(subject, wildcards=True):
    return subject_error(subject, wildcards) is None


def permission_subject_error(entry, allow_queue):
    """Validate a permission entry: a subject, or for subscriptions 'subject queue'."""
    if isinstance(entry, str) and allow_queue and entry.count(" ") == 1:
        subject, queue = entry.split(" ")
        error = subject_error(subject)
        if error is None and subject_error(queue) is not None:
            error = "queue group of %r %s" % (entry, subject_error(queue))
        return error
    return subject_error(entry)
