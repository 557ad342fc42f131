#!/usr/bin/python
# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Try an anonymous NATS client connection: the only proof that a server refuses anonymous clients."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_anonymous_probe
short_description: Prove whether a NATS client listener accepts anonymous clients
version_added: 0.1.0
description:
  - Opens a TCP connection to a NATS client listener, reads the server's C(INFO), sends
    C(CONNECT {"verbose":false,"pedantic":false}) without any credentials and a C(PING), and reports what the
    server answered. C(PONG) means anonymous clients get in (RV(anonymous=open)); C(-ERR 'Authorization
    Violation') means they are refused.
  - C(auth_required) in C(INFO) or C(/varz) does not prove that anonymous clients are refused (C(no_auth_user),
    or an accounts block holding only C($SYS), let them in while it reads true); this probe does.
  - When C(INFO) says TLS is required, the probe upgrades the connection to TLS without verifying the server
    certificate (it sends no secret). A server that requires a client certificate refuses the handshake;
    that is reported as RV(anonymous=refused).
  - "Run it where an attacker would be, usually the controller (C(delegate_to: localhost))."
author: hardened.nats contributors (!UNKNOWN)
options:
  host:
    description: Address of the client listener.
    type: str
    required: true
  port:
    description: Port of the client listener.
    type: int
    default: 4222
  timeout:
    description: Seconds to wait for the connection and each answer.
    type: float
    default: 5
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hardened.nats.common.attributes
attributes:
  check_mode:
    support: full
    details: The probe changes nothing on the server; it runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: It only connects and disconnects, and always reports RV(ignore:changed=false).
  platform:
    platforms: posix
notes:
  - The module never fails because of what it finds; the caller decides (see the C(hardened.nats.audit)
    playbook). It fails only on invalid options.
"""

EXAMPLES = r"""
- name: Try an anonymous connection from the controller
  hardened.nats.nats_anonymous_probe:
    host: "{{ ansible_host | default(inventory_hostname) }}"
    port: 4222
  delegate_to: localhost
  register: __probe

- name: Anonymous clients must be refused
  ansible.builtin.assert:
    that: __probe.anonymous == 'refused'
"""

RETURN = r"""
anonymous:
  description:
    - V(open) (the server answered PONG to an anonymous client), V(refused) (authorization violation, or a
      client certificate is required), V(unreachable) (no TCP connection), or V(error) (anything else; see
      RV(detail)).
  type: str
  returned: always
open:
  description: Whether anonymous clients get in.
  type: bool
  returned: always
detail:
  description: What the server answered, in words.
  type: str
  returned: always
address:
  description: The address probed, C(host:port).
  type: str
  returned: always
server_info:
  description: Fields of the server's C(INFO) (server_id, server_name, version, auth_required, tls_required).
  type: dict
  returned: when the server sent INFO
"""

import json
import socket
import ssl

from ansible.module_utils.basic import AnsibleModule

CONNECT = b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'
# Alerts a server sends a client that presented no certificate where one is required.
CERTIFICATE_ALERTS = ("TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_BAD_CERTIFICATE")
INFO_KEYS = ("server_id", "server_name", "version", "auth_required", "tls_required", "tls_available")


class _Lines:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
            if len(self.buf) > 1024 * 1024:
                raise ConnectionError("no line end in the first MiB")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")


def probe(host, port, timeout=5.0):
    """Try an anonymous connection. Returns the result dict documented in RETURN."""
    result = {"address": f"{host}:{port}", "anonymous": "error", "open": False, "detail": ""}
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        result.update(anonymous="unreachable", detail=f"no TCP connection: {exc}")
        return result
    try:
        sock.settimeout(timeout)
        lines = _Lines(sock)
        first = lines.readline()
        if not first.startswith("INFO "):
            result["detail"] = f"not a NATS client listener (first line {first[:40]!r})"
            return result
        info = json.loads(first[5:])
        result["server_info"] = {key: info[key] for key in INFO_KEYS if key in info}
        if info.get("tls_required"):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # no secret is sent; only the server's answer matters
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                detail = f"TLS handshake refused (client certificate required?): {exc}"
                result.update(anonymous="refused", detail=detail)
                return result
            lines = _Lines(sock)
        sock.sendall(CONNECT)
        while True:
            line = lines.readline()
            if line == "PONG":
                detail = "PONG: the server accepted a client without credentials"
                result.update(anonymous="open", open=True, detail=detail)
                return result
            if line.startswith("-ERR"):
                message = line[4:].strip().strip("'")
                if "authorization violation" in message.lower() or "authentication" in message.lower():
                    result.update(anonymous="refused", detail=f"-ERR {message}")
                else:
                    result["detail"] = f"-ERR {message}"
                return result
            if line == "PING":
                sock.sendall(b"PONG\r\n")
            # INFO updates and +OK are skipped
    except ssl.SSLError as exc:
        # TLS 1.3: the client's handshake ends before the server has judged its certificate; a
        # server that requires one says so with an alert on the first read.
        reason = getattr(exc, "reason", None) or ""
        if reason in CERTIFICATE_ALERTS:
            result.update(anonymous="refused", detail=f"TLS alert {reason}: the server requires a client certificate")
        else:
            result["detail"] = f"SSLError: {exc}"
        return result
    except (OSError, ValueError, ConnectionError) as exc:
        # no explicit answer: inconclusive, never counted as refused
        result["detail"] = f"{type(exc).__name__}: {exc}"
        return result
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", required=True),
            port=dict(type="int", default=4222),
            timeout=dict(type="float", default=5.0),
        ),
        supports_check_mode=True,
    )
    result = probe(module.params["host"], module.params["port"], module.params["timeout"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
