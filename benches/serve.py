"""Starting the lakegate server for a benchmark, on free ports."""

import re
import subprocess
import threading


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def serve(binary, config):
    """`lakegate serve` on free loopback ports: the process and its ports by front end."""
    server = subprocess.Popen([binary, "serve", "--config", str(config), "--pg", "127.0.0.1:0",
                               "--flight", "127.0.0.1:0", "--http", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ports = {}
    for line in server.stdout:
        m = re.match(r"lakegate: (postgres|flight|http) listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            ports[m.group(1)] = int(m.group(2))
        if len(ports) == 3:
            break
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    return server, ports
