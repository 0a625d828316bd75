"""Start-up probe: load the component, start one connection, print its first
decision, exit. What `scripts/bench-startup` times for Python (README, "On a
device").

    python3 bindings/python/first_decision.py [--precompiled FILE]
"""

import sys

import tether


class _Transport:
    def open(self, link, hub, device_id, credential):
        pass

    def send(self, link, message, topic, payload):
        pass

    def subscribe(self, link, filter):
        pass

    def close(self, link):
        pass


def main() -> None:
    args = sys.argv[1:]
    runtime = (tether.Runtime(precompiled=args[1]) if args[:1] == ["--precompiled"]
               else tether.Runtime.default())
    decisions = []
    conn = tether.Connection({"hub": "127.0.0.1:1883", "device-id": "startup-probe"},
                             transport=_Transport(), runtime=runtime,
                             on_decision=lambda event: decisions.append(event))
    conn.start()
    print(decisions[0] if decisions else "no decision", flush=True)


if __name__ == "__main__":
    main()
