#!/usr/bin/python
# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_bcrypt
short_description: Hash NATS passwords and tokens with bcrypt, idempotently
version_added: "0.1.0"
description:
  - Hashes a password or token, or a batch of them, with bcrypt for use in a nats-server
    C(authorization) block, and returns the hash with the C($2a$) prefix that nats-server's
    config parser recognises (Python's bcrypt writes C($2b$); the two variants are the same
    algorithm for secrets up to 72 bytes).
  - bcrypt salts are random, so a naive rerun would produce a new hash every time and
    reload every server. This module keeps a B(store) on the controller instead, keyed by
    O(name). For each name it records the hash and a verifier of the secret that produced it.
    On a rerun with the same secret the verifier matches, the stored hash is returned with
    RV(ignore:changed=false) and no bcrypt work is done, so a thousand unchanged users cost
    milliseconds, not minutes. A new or changed secret, or a changed O(cost), is hashed anew.
  - 'Store design: the directory O(store) (mode C(0700)) holds C(hashes.json) (mode C(0600)),
    C({"version": 1, "entries": {NAME: {"hash": "$2a$...", "verifier": HEX}}}), and, unless
    O(store_key) is given, C(verifier.key) (mode C(0600)), 32 random bytes made on first use.
    The verifier is C(HMAC-SHA256(K, "hardened.nats.bcrypt.v1" | NAME | SECRET | HASH)), every
    field length-prefixed, compared in constant time. The name binding keeps two users with
    the same secret from having equal verifiers; the hash binding makes a hash edited in the
    store stop matching, so it is replaced rather than trusted.'
  - 'What the store protects and what it does not: C(hashes.json) alone gives nothing useful
    without the key. Whoever can read both the store and the key can test guesses at HMAC
    speed instead of bcrypt speed, so the store is as sensitive as the secrets are guessable.
    Use long random secrets (for example C(lookup("ansible.builtin.password", ..., length=32))),
    keep the store on the controller, out of version control and backups you do not trust,
    or pass O(store_key) from Ansible Vault so that no key is on disk next to the store.'
  - Several tasks may share one store; writers are serialised with C(flock(2)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hardened.nats.common
attributes:
  check_mode:
    support: full
    details: In check mode, hashes for new or changed secrets are computed and returned but not stored,
      so the next real run returns different hashes (bcrypt salts are random).
  diff_mode:
    support: full
    details: The diff lists the hashes of the names that change; never a secret.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - Key of the secret in the store, usually the NATS user name. Use with O(secret).
      - Mutually exclusive with O(secrets).
    type: str
  secret:
    description:
      - The password or token to hash, 1 to 72 bytes in UTF-8, without NUL bytes.
      - Required with O(name) when O(state=present).
    type: str
  secrets:
    description:
      - Batch form, a dictionary of O(name) to secret, so that many users are one module call.
        New and changed secrets are hashed in parallel on every core.
      - Returned as RV(hashes), a dictionary of name to hash.
    type: dict
  cost:
    description:
      - bcrypt cost (log2 rounds). Values below 10 are refused. nats-server's C(nats server passwd) uses 11.
      - A stored hash made with another cost is replaced.
    type: int
    default: 11
  store:
    description:
      - Directory of the store on the controller. Created with mode C(0700) if missing; an existing store
        directory or file with a looser mode is set back to C(0700)/C(0600).
      - Keep one store per environment; a store is meant for one set of users.
    type: path
    required: true
  store_key:
    description:
      - Secret from which the verifier key is derived, for example from Ansible Vault. When given, no
        C(verifier.key) is written or read. Changing it makes every verifier mismatch once, so all secrets
        are hashed again.
    type: str
  state:
    description:
      - V(present) hashes and stores; V(absent) removes O(name) (or the names of O(secrets)) from the store.
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - With O(secrets) and O(state=present), remove store entries whose name is not in O(secrets).
    type: bool
    default: false
seealso:
  - module: hardened.nats.nats_nkey
  - module: hardened.nats.nats_jwt
author:
  - hardened.nats contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Hash one user's password
  hardened.nats.nats_bcrypt:
    name: alice
    secret: "{{ vault_nats_alice_password }}"
    store: "{{ playbook_dir }}/.nats-credentials/bcrypt"
  delegate_to: localhost
  run_once: true
  no_log: true
  register: alice_hash

- name: Hash every user in one call (1,000 users rerun in about a second)
  hardened.nats.nats_bcrypt:
    secrets: "{{ nats_users | items2dict(key_name='name', value_name='password') }}"
    store: "{{ playbook_dir }}/.nats-credentials/bcrypt"
    store_key: "{{ vault_nats_bcrypt_store_key }}"
    prune: true
  delegate_to: localhost
  run_once: true
  no_log: true
  register: nats_user_hashes

- name: Use the hashes in the server configuration
  ansible.builtin.set_fact:
    nats_server_users: >-
      {{ nats_users | map(attribute='name')
         | map('extract', nats_user_hashes.hashes) | list }}

- name: Forget a user
  hardened.nats.nats_bcrypt:
    name: bob
    state: absent
    store: "{{ playbook_dir }}/.nats-credentials/bcrypt"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
hash:
  description:
    - The C($2a$) bcrypt hash of O(secret) (single form).
    - Not a secret in this design; it goes into server configs.
  returned: when O(name) is given and O(state=present)
  type: str
  sample: "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG"
hashes:
  description: Name to C($2a$) hash (batch form).
  returned: when O(secrets) is given and O(state=present)
  type: dict
  sample: {"alice": "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG"}
changed_names:
  description: Names whose hash was (or in check mode would be) created or replaced, sorted.
  returned: always
  type: list
  elements: str
  sample: ["alice"]
removed_names:
  description: Names removed from the store (O(state=absent) or O(prune=true)), sorted.
  returned: always
  type: list
  elements: str
  sample: []
fixed_modes:
  description: Store paths whose mode was (or in check mode would be) set back to C(0700)/C(0600).
  returned: when a mode was too loose
  type: list
  elements: str
  sample: ["/home/ops/site/.nats-credentials/bcrypt"]
store:
  description: Absolute path of the store directory.
  returned: always
  type: str
  sample: /home/ops/site/.nats-credentials/bcrypt
"""

import contextlib
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hardened.nats.plugins.module_utils import _nats_bcrypt as nb
from ansible_collections.hardened.nats.plugins.module_utils import _nats_files as files


def _collect(module):
    """Return ({name: secret bytes}, batch?) after validation; fail naming the option."""
    params = module.params
    present = params["state"] == "present"
    try:
        nb.check_cost(params["cost"])
        if params["secrets"] is not None:
            items = {}
            for name, secret in params["secrets"].items():
                nb.check_name(name, "secrets (a key)")
                items[name] = nb.check_secret(secret, f"secrets[{name}]") if present else None
            return items, True
        nb.check_name(params["name"])
        if present:
            if params["secret"] is None:
                module.fail_json(msg="option secret is required with name when state=present")
            return {params["name"]: nb.check_secret(params["secret"], "secret")}, False
        return {params["name"]: None}, False
    except nb.BcryptError as exc:
        module.fail_json(msg=str(exc))


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str"},
            "secret": {"type": "str", "no_log": True},
            "secrets": {"type": "dict", "no_log": True},
            "cost": {"type": "int", "default": 11},
            "store": {"type": "path", "required": True},
            "store_key": {"type": "str", "no_log": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "prune": {"type": "bool", "default": False},
        },
        mutually_exclusive=[("name", "secrets"), ("secret", "secrets")],
        required_one_of=[("name", "secrets")],
        supports_check_mode=True,
    )
    if not nb.HAS_BCRYPT:
        module.fail_json(msg=missing_required_lib("bcrypt"), exception=str(nb.BCRYPT_IMPORT_ERROR))

    items, batch = _collect(module)
    params = module.params
    cost = params["cost"]
    store = nb.Store(params["store"], params["store_key"])
    result = {"changed": False, "changed_names": [], "removed_names": [], "store": store.path}

    if os.path.exists(store.path) and not os.path.isdir(store.path):
        module.fail_json(msg=f"option store: {store.path} exists and is not a directory", **result)

    lock = contextlib.nullcontext() if module.check_mode else files.locked(store.lock_path)
    try:
        with lock:
            store.load()
            before, after = {}, {}
            loose = store.loose_modes()
            if params["state"] == "absent":
                removed = sorted(n for n in items if n in store.entries)
                for name in removed:
                    before[name] = store.entries.pop(name).get("hash")
                result["removed_names"] = removed
            else:
                hashes, todo = {}, {}
                for name, secret in items.items():
                    stored = store.lookup(name, secret, cost)
                    if stored is None:
                        todo[name] = secret
                    else:
                        hashes[name] = stored
                fresh = nb.hash_many(todo, cost)
                for name, hashed in fresh.items():
                    old = store.entries.get(name)
                    before[name] = old.get("hash") if isinstance(old, dict) else None
                    after[name] = hashed
                    store.put(name, todo[name], hashed)
                hashes.update(fresh)
                result["changed_names"] = sorted(fresh)
                if batch and params["prune"]:
                    removed = sorted(n for n in store.entries if n not in items)
                    for name in removed:
                        before[name] = store.entries.pop(name).get("hash")
                    result["removed_names"] = removed
                if batch:
                    result["hashes"] = {name: hashes[name] for name in items}
                else:
                    result["hash"] = hashes[params["name"]]
            changed = bool(result["changed_names"] or result["removed_names"] or loose)
            if loose:
                result["fixed_modes"] = loose
            if changed and not module.check_mode:
                store.save()
    except (nb.BcryptError, OSError) as exc:
        module.fail_json(msg=f"bcrypt store {store.path}: {exc}", **result)

    result["changed"] = changed
    if module._diff and changed:
        result["diff"] = {
            "before": "".join(f"{n}: {before[n]}\n" for n in sorted(before) if before[n]),
            "after": "".join(f"{n}: {after[n]}\n" for n in sorted(after)),
            "before_header": f"{store.hashes_path} (names whose hash changes)",
            "after_header": f"{store.hashes_path} (names whose hash changes)",
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
