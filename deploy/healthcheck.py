"""The image's HEALTHCHECK: exit 0 when ``GET /healthz`` answers 200, else 1.

The slim image has no curl, so this uses the standard library. It sends the first name of
``DJANGO_ALLOWED_HOSTS`` as the Host header (a literal one: a leading dot is stripped), so the
check passes Django's host validation without adding 127.0.0.1 to the allowed hosts.
``/healthz`` is exempt from the HTTPS redirect (config/settings/production.py).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
    port = bind.rsplit(":", 1)[-1]
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0].lstrip(".") if hosts and hosts[0] != "*" else "localhost"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            ok = response.status == 200
    except urllib.error.HTTPError as exc:
        print(f"healthz answered {exc.code}: {exc.read()[:500]!r}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"healthz unreachable: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
