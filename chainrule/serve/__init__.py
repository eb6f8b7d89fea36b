"""``chainrule serve``: the chain-rule explorer, the step-through and the network playground
in the browser (extra ``serve``: Starlette on uvicorn).

- :func:`create_app` makes the application (:mod:`chainrule.serve.app`);
- :func:`run` serves it, on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import ipaddress
import sys

__all__ = ["create_app", "run", "Settings"]


def _require():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"chainrule serve needs Starlette and uvicorn ({err}); "
            'install them, in chainrule\'s clone, with: pip install -e ".[serve]"'
        ) from None


def create_app(settings=None):
    """The Starlette application (see :mod:`chainrule.serve.app`)."""
    _require()
    from chainrule.serve.app import create_app as make

    return make(settings)


def __getattr__(name):
    if name == "Settings":
        _require()
        from chainrule.serve.app import Settings

        return Settings
    raise AttributeError(name)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> None:
    """Serve the app until interrupted (Ctrl-C). ``port=0`` takes a free port.

    Raises ``ValueError`` (one line) when the address cannot be used, e.g. a port in use.
    """
    _require()
    import socket
    import threading
    import webbrowser

    import uvicorn

    from chainrule.serve.app import Settings

    settings = Settings()
    if not is_loopback(host):
        print(
            f"warning: serving on {host}: anyone who can reach this machine on port {port} "
            "can use the explorer and train networks on it. Use --host 127.0.0.1 to keep "
            "it to this machine.",
            file=sys.stderr,
        )
        settings.allowed_hosts = ()
    app = create_app(settings)
    # The socket is bound here, so a port in use is said before any address is printed.
    address = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as err:
        sock.close()
        raise ValueError(
            f"cannot listen on {host} port {port}: {err.strerror or err}"
            + ("; another server may be using it: choose another --port" if port else "")
        ) from None
    port = sock.getsockname()[1]
    shown = f"[{address}]" if ":" in address else address
    url = f"http://{'127.0.0.1' if address in ('0.0.0.0', '::') else shown}:{port}/"
    print(f"chainrule serve: open {url}  (Ctrl-C stops)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    finally:
        sock.close()
