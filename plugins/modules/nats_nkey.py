#!/usr/bin/python
# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_nkey
short_description: Create or load a NATS NKey seed file on the controller
version_added: "0.1.0"
description:
  - Creates a NATS NKey pair of the given O(type) and stores its seed in O(path), or loads the
    seed already there. Returns the public key, which is what server configs and JWTs refer to.
  - An existing seed file is never replaced. If it holds a seed of another type, or something
    that is not a valid seed (bad base32, bad checksum, wrong length), the module fails and says
    which, without printing the seed.
  - Types V(operator), V(account), V(user), V(server) and V(cluster) are ed25519 keys (public keys
    start with C(O), C(A), C(U), C(N), C(C); seeds with C(SO), C(SA), C(SU), C(SN), C(SC)).
    V(curve) (alias V(xkey)) is an x25519 key for auth callout encryption (public key C(X...),
    seed C(SX...)), encoded here because the PyPI C(nkeys) package has no curve support.
  - The seed file holds the seed and a newline, mode C(0600); directories the module creates get mode C(0700).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hardened.nats.common
  - hardened.nats.common.private_file
attributes:
  check_mode:
    support: full
    details: When the seed file does not exist yet, check mode reports a change and returns no public key.
  diff_mode:
    support: full
    details: The diff shows the public key only.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  type:
    description:
      - Kind of key. V(xkey) is an alias of V(curve).
    type: str
    required: true
    choices: [operator, account, user, server, cluster, curve, xkey]
  return_seed:
    description:
      - Also return the seed as RV(seed).
      - "A module cannot censor its own result (Ansible strips C(_ansible_no_log) from module returns), so the
        module refuses O(return_seed=true) unless the task itself has C(no_log: true): the seed then never
        reaches the output or the logs. Never print the registered variable."
      - Prefer passing seed file paths to M(hardened.nats.nats_jwt) over moving seeds through variables.
    type: bool
    default: false
seealso:
  - module: hardened.nats.nats_jwt
  - module: hardened.nats.nats_bcrypt
author:
  - hardened.nats contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Operator identity key
  hardened.nats.nats_nkey:
    path: "{{ playbook_dir }}/.nats-credentials/operator/ACME.nk"
    type: operator
  delegate_to: localhost
  run_once: true
  register: operator_key

- name: Operator signing key (sign accounts with this one, keep the identity key offline)
  hardened.nats.nats_nkey:
    path: "{{ playbook_dir }}/.nats-credentials/operator/ACME-signing.nk"
    type: operator
  delegate_to: localhost
  run_once: true
  register: operator_signing_key

- name: xkey for auth callout encryption
  hardened.nats.nats_nkey:
    path: "{{ playbook_dir }}/.nats-credentials/callout.xk"
    type: xkey
  delegate_to: localhost
  run_once: true
  register: callout_xkey

- name: A user seed that must go into a vault (rare; prefer creds files)
  hardened.nats.nats_nkey:
    path: "{{ playbook_dir }}/.nats-credentials/users/svc.nk"
    type: user
    return_seed: true
  delegate_to: localhost
  run_once: true
  no_log: true
  register: svc_key
"""

RETURN = r"""
public_key:
  description: The public key (C(O...), C(A...), C(U...), C(N...), C(C...) or C(X...)).
  returned: always, except in check mode when the seed file does not exist yet
  type: str
  sample: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4
type:
  description: The key type, V(xkey) normalised to V(curve).
  returned: always
  type: str
  sample: user
path:
  description: Absolute path of the seed file.
  returned: always
  type: str
  sample: /home/ops/site/.nats-credentials/users/svc.nk
created:
  description: Whether a new key was (or in check mode would be) generated.
  returned: always
  type: bool
  sample: false
seed:
  description: The seed. Secret; only returned to a task with C(no_log) set.
  returned: when O(return_seed=true) and a seed exists or was created (not in check mode)
  type: str
  sample: "SUA... (58 characters; returned only with return_seed=true)"
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hardened.nats.plugins.module_utils import _nats_files as files
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "type": {
                "type": "str",
                "required": True,
                "choices": ["operator", "account", "user", "server", "cluster", "curve", "xkey"],
            },
            "return_seed": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    if not keys.HAS_NACL:
        module.fail_json(msg=missing_required_lib("PyNaCl"), exception=str(keys.NACL_IMPORT_ERROR))

    if module.params["return_seed"] and not module.no_log:
        module.fail_json(
            msg="option return_seed=true needs no_log: true on the task, so that the seed is not shown or logged"
        )

    kind = keys.normalize_type(module.params["type"])
    path = os.path.abspath(module.params["path"])
    result = {"changed": False, "type": kind, "path": path, "created": False}

    if os.path.isdir(path):
        module.fail_json(msg=f"option path: {path} is a directory, not a seed file", **result)

    pair = None
    before_public = None
    if os.path.exists(path):
        try:
            pair = keys.read_seed_file(path)
        except keys.NKeyError as exc:
            module.fail_json(msg=f"{exc}; refusing to replace it (move it away to create a new key)", **result)
        if pair.kind != kind:
            module.fail_json(
                msg=f"seed file {path} holds a {pair.kind} seed, but option type is {kind}; "
                "refusing to use or replace it",
                **result,
            )
        before_public = pair.public_key
        if files.file_mode(path) != files.FILE_MODE:
            result["changed"] = True
            if not module.check_mode:
                files.fix_mode(path)
    else:
        result["changed"] = True
        result["created"] = True
        created_dirs = files.missing_dirs(os.path.dirname(path))
        if created_dirs:
            result["created_dirs"] = created_dirs
        if not module.check_mode:
            pair = keys.generate(kind)
            try:
                files.write_private(path, pair.seed + "\n")
            except OSError as exc:
                module.fail_json(msg=f"cannot write seed file {path}: {exc.strerror or exc}", **result)

    if pair is not None:
        result["public_key"] = pair.public_key
        if module.params["return_seed"]:
            result["seed"] = pair.seed
    if module._diff and result["changed"]:
        result["diff"] = {
            "before": (f"public_key: {before_public}\n") if before_public else "",
            "after": "public_key: %s\n" % (result.get("public_key") or "(generated on a real run)"),
            "before_header": path,
            "after_header": path,
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
