"""A panini app (PyPI ``panini``) connects to the cluster with user and password.

panini 0.6.2 breaks on nats-py 2.16 ("unexpected keyword argument 'loop'"), so the app
runs from its own venv under build/ with the combination that works: panini 0.8.4,
which pins nats-py 2.6.0. The app publishes on node 1; a nats-py 2.16 subscriber on
node 2 receives it. With a wrong password panini gets "Authorization Violation".
"""

import asyncio
import os
import subprocess
import sys
import textwrap

import nats
import natstest
import testinfra.utils.ansible_runner

NODES = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("nats_servers")
VENV = os.path.join(natstest.PROJECT, "build", "panini-venv")
PINS = ["panini==0.8.4", "nats-py==2.6.0"]

APP = textwrap.dedent(
    """
    import os
    import sys

    from panini import app as panini_app

    host, user, password = sys.argv[1:4]
    app = panini_app.App(
        service_name="hardened_nats_probe", host=host, port=4222, auth={"user": user, "password": password}
    )


    @app.task()
    async def publish():
        for i in range(40):
            await app.publish(subject="orders.panini", message={"n": i})
            await __import__("asyncio").sleep(0.1)
        print("PANINI-PUBLISHED", flush=True)
        os._exit(0)


    if __name__ == "__main__":
        app.start()
    """
)


def _venv():
    python = os.path.join(VENV, "bin", "python")
    marker = os.path.join(VENV, ".pins")
    if not (os.path.exists(marker) and open(marker).read() == " ".join(PINS)):
        subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True, timeout=300)
        subprocess.run([python, "-m", "pip", "install", "-q", *PINS], check=True, timeout=600)
        with open(marker, "w") as fh:
            fh.write(" ".join(PINS))
    return python


def _run_app(tmp_path, node, user, password, timeout=120):
    """Run the app; return (returncode or None when it had to be stopped, output)."""
    script = tmp_path / "app.py"
    script.write_text(APP)
    try:
        proc = subprocess.run(
            [_venv(), str(script), natstest.container_ip(node), user, password],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            check=False,
        )
        return proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:  # panini keeps retrying a refused connection
        out = [o.decode() if isinstance(o, bytes) else (o or "") for o in (exc.stdout, exc.stderr)]
        return None, "".join(out)


def test_panini_version_is_the_pinned_one():
    out = subprocess.run(
        [_venv(), "-c", "import importlib.metadata as m; print(m.version('panini'), m.version('nats-py'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["0.8.4", "2.6.0"]


def test_panini_app_connects_with_user_and_password(tmp_path):
    async def subscribe():
        nc = await nats.connect(
            f"nats://{natstest.container_ip(NODES[1])}:4222",
            user="app",
            password="app-secret-pass",
            allow_reconnect=False,
            connect_timeout=3,
        )
        sub = await nc.subscribe("orders.panini")
        await nc.flush()
        return nc, sub

    async def scenario():
        nc, sub = await subscribe()
        try:
            proc = await asyncio.to_thread(_run_app, tmp_path, NODES[0], "app", "app-secret-pass")
            got = []
            while True:
                try:
                    got.append((await sub.next_msg(timeout=1)).data)
                except nats.errors.TimeoutError:
                    break
            return proc, got
        finally:
            await nc.close()

    _venv()  # outside the timed part
    proc, got = natstest.run(scenario(), timeout=300)
    rc, out = proc
    assert rc == 0 and "PANINI-PUBLISHED" in out, out[-3000:]
    assert got, "no message from the panini app reached node 2"
    assert b'"n"' in got[-1]


def test_panini_app_with_a_wrong_password_is_refused(tmp_path):
    rc, out = _run_app(tmp_path, NODES[0], "app", "wrong-password", timeout=15)
    assert "PANINI-PUBLISHED" not in out
    assert rc != 0
    assert "Authorization Violation" in out, out[-3000:]
