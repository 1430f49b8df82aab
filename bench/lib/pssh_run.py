"""Runs one command on many hosts with parallel-ssh (PyPI `parallel-ssh`, ParallelSSHClient)
and prints a JSON summary. Used by bench/run.ts; arguments: hosts_file port user key pool_size command."""
import json
import sys

from pssh.clients import ParallelSSHClient


def main() -> None:
    hosts_file, port, user, key, pool_size, command = sys.argv[1:7]
    with open(hosts_file, encoding="utf-8") as f:
        hosts = f.read().split()
    for h in hosts:  # loopback only, whatever the caller passed
        if not h.startswith("127."):
            raise SystemExit(f"refusing non-loopback host {h}")
    client = ParallelSSHClient(hosts, user=user, port=int(port), pkey=key, pool_size=int(pool_size))
    output = client.run_command(command, stop_on_errors=False)
    client.join(output)
    ok = 0
    failures = []
    for host_out in output:
        lines = list(host_out.stdout) if host_out.exception is None and host_out.stdout is not None else []
        if host_out.exception is None and host_out.exit_code == 0 and lines:
            ok += 1
        else:
            failures.append(f"{host_out.host}: exit={host_out.exit_code} {host_out.exception!r}")
    print(json.dumps({"ok": ok, "failed": len(failures), "failures": failures[:5]}))


if __name__ == "__main__":
    main()
