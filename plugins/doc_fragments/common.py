# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared documentation for the hardened.nats credential modules."""

from __future__ import annotations


class ModuleDocFragment:
    # Attributes and notes common to every credential module
    # (use together with ansible.builtin.action_common_attributes).
    DOCUMENTATION = r"""
attributes:
  idempotent:
    description:
      - When run again with the same inputs, the module reports RV(ignore:changed=false) and rewrites nothing.
notes:
  - "This module keeps key material on the host it runs on. Run it on the Ansible controller
    (C(delegate_to: localhost) and C(run_once: true)), never on a managed node, and keep the
    directories it writes out of version control."
  - Files are written atomically with mode C(0600); directories the module creates get mode C(0700).
  - Messages never contain a seed, password or token, and neither does the diff.
requirements:
  - PyNaCl >= 1.5 and bcrypt >= 4.0 in the Python that runs the module (the controller's).
"""

    # Options shared by the modules that write a private file.
    PRIVATE_FILE = r"""
options:
  path:
    description:
      - File to write on the host that runs the module (the controller).
      - Missing parent directories are created with mode C(0700); the file is written with mode C(0600),
        and an existing file with another mode is set back to C(0600) (that counts as a change).
    type: path
    required: true
"""

    # The idempotent attribute, which ansible.builtin.action_common_attributes does not
    # describe, for the modules that do not use the credential fragment above.
    ATTRIBUTES = r"""
attributes:
  idempotent:
    description:
      - When run again with the same inputs, the module reports RV(ignore:changed=false) and changes nothing.
"""
