"""Runs a command on many hosts with parallel-ssh (PyPI `parallel-ssh`, ParallelSSHClient)
and prints a JSON summary. Used by bench/run.ts; arguments:
hosts_file port user key pool_size command [steps].

With steps > 1 the command runs that many times in sequence on the same client (which keeps
its sessions), joining every host before the next step: what a user of the library writes for
N commands in order."""
import json
import sys

from pssh.clients import ParallelSSHClient


def main() -> None:
    hosts_file, port, user, key, pool_size, command = sys.argv[1:7]
    steps = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    with open(hosts_file, encoding="utf-8") as f:
        hosts = f.read().split()
    for h in hosts:  # loopback only, whatever the caller passed
        if not h.startswith("127."):
            raise SystemExit(f"refusing non-loopback host {h}")
    client = ParallelSSHClient(hosts, user=user, port=int(port), pkey=key, pool_size=int(pool_size))
    steps_ok = {h: 0 for h in hosts}
    failures = []
    for step in range(1, steps + 1):
        output = client.run_command(command, stop_on_errors=False)
        client.join(output)
        for host_out in output:
            lines = list(host_out.stdout) if host_out.exception is None and host_out.stdout is not None else []
            if host_out.exception is None and host_out.exit_code == 0 and lines:
                steps_ok[host_out.host] += 1
            else:
                failures.append(f"step {step} {host_out.host}: exit={host_out.exit_code} {host_out.exception!r}")
    # A host counts once every one of its steps succeeded.
    ok = sum(1 for n in steps_ok.values() if n == steps)
    print(json.dumps({"ok": ok, "failed": len(hosts) - ok, "failures": failures[:5]}))


if __name__ == "__main__":
    main()
