"""fdreuse_client.py P1 P2 GO -- an HTTP client that moves one fd number between connections (dup2, close and
reopen, close_range, another thread's close), for test_fdcache_ebpf.sh: each request must be attributed to the
connection the fd held at that moment, never to the one a cached fd -> socket decision remembers.
Waits for the file GO, prints "path port" per request sent, then "done"."""
import os
import socket
import sys
import threading
import time

P1, P2, GO = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


def conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    return s


def req(fd, path, port):
    """one GET on raw fd @fd (os.write/os.read: the fd number is what matters), read to EOF (HTTP/1.0 server)"""
    os.write(fd, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
    while os.read(fd, 65536):
        pass
    print(path, port, flush=True)


def onto(fd, port):
    """a new connection to @port whose socket sits on fd number @fd (the slot must be free)"""
    s = conn(port)
    if s.fileno() != fd:
        os.dup2(s.fileno(), fd)
        s.close()
    else:
        s.detach()  # the fd stays open when the object goes
    return fd


deadline = time.time() + 30
while not os.path.exists(GO) and time.time() < deadline:
    time.sleep(0.05)

# 1. fd N on a connection to P1
a = conn(P1)
n = a.fileno()
req(n, "/one", P1)
# 2. dup2 puts a connection to P2 on the same fd number
b = conn(P2)
os.dup2(b.fileno(), n)
b.close()
req(n, "/two", P2)
# 3. closed, then the same number for a connection to P1
os.close(n)
a.detach()
onto(n, P1)
req(n, "/three", P1)
# 4. close_range (os.closerange uses it where the kernel has it), the number reused for P2
os.closerange(n, n + 1)
onto(n, P2)
req(n, "/four", P2)
# 5. a thread uses the fd, the main thread closes it and puts a connection to P1 there, the thread uses it again
os.close(n)
onto(n, P2)
first, second = threading.Event(), threading.Event()


def worker():
    req(n, "/five", P2)
    first.set()
    second.wait(10)
    req(n, "/six", P1)


t = threading.Thread(target=worker)
t.start()
first.wait(10)
os.close(n)
onto(n, P1)
second.set()
t.join()
os.close(n)
# 6. a regular file on the number, then a socket again (a cached "not a socket" must not stick)
f = os.open("/dev/null", os.O_RDONLY)
if f != n:
    os.dup2(f, n)
    os.close(f)
os.read(n, 1)
os.close(n)
onto(n, P2)
req(n, "/seven", P2)
os.close(n)
print("done", flush=True)
