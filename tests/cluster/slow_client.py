"""slow_client.py HOST PORT COUNT SECONDS: a slowloris without a token. Opens
COUNT TCP connections to HOST:PORT and sends a TLS ClientHello on each, one
byte a second, for SECONDS; prints one JSON line: how many connections were
opened, how many the server closed, and the seconds after which it closed
them (for the test to read)."""

import json
import socket
import sys
import time

# The first bytes of a TLS 1.2 ClientHello: a record header and the start of
# a handshake message; a server waits for the rest.
CLIENT_HELLO = bytes.fromhex("16030100c8010000c40303") + bytes(range(32)) * 6


def main(host, port, count, seconds):
    start = time.monotonic()
    connections = []
    refused = 0
    for _ in range(count):
        try:
            connections.append(socket.create_connection((host, port), timeout=5))
        except OSError:
            refused += 1
    closed_after = []
    open_ones = list(connections)
    for i in range(seconds):
        for s in list(open_ones):
            try:
                s.sendall(CLIENT_HELLO[i:i + 1])
                s.settimeout(0.001)
                try:
                    if s.recv(1) == b"":  # an orderly close
                        raise ConnectionResetError
                except socket.timeout:
                    pass
            except OSError:
                closed_after.append(round(time.monotonic() - start, 1))
                open_ones.remove(s)
        if not open_ones:
            break
        time.sleep(1.0)
    print(json.dumps({"opened": len(connections), "refused": refused,
                      "closed": len(closed_after), "closed_after": closed_after}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
