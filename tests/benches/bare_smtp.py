"""The floor of a fan-out: what a bare SMTP client needs to hand the same
copies to the same server. Each file in DIR is one copy: its first line is
the recipient, the rest the message. CONNECTIONS connections side by side,
each with STARTTLS and AUTH, as Conclave's lanes. Prints the seconds taken
from the first connection to the last QUIT.

    python3 bare_smtp.py HOST PORT USER PASSWORD CAFILE CONNECTIONS DIR
"""
import os
import re
import smtplib
import ssl
import sys
import threading
import time

host, port, user, password, cafile, connections, folder = sys.argv[1:8]
port, connections = int(port), int(connections)
copies = []
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as f:
        to, _, body = f.read().partition(b"\n")
        # On the wire every line ends in CRLF (the rig refuses a bare LF);
        # the copies come from mailboxes on disk and gpg, in LF. Done here,
        # before the clock starts, as a client's own message already is.
        body = re.sub(rb"\r?\n", b"\r\n", body)
        copies.append((to.decode().strip(), body))
context = ssl.create_default_context(cafile=cafile)
errors = []


def lane(mine):
    try:
        smtp = smtplib.SMTP(host, port, timeout=60)
        smtp.starttls(context=context)
        smtp.login(user, password)
        for to, body in mine:
            smtp.sendmail(user, [to], body)
        smtp.quit()
    except Exception as e:  # reported, and the run fails
        errors.append(repr(e))


start = time.monotonic()
threads = [
    threading.Thread(target=lane, args=(copies[i::connections],))
    for i in range(connections)
]
for t in threads:
    t.start()
for t in threads:
    t.join()
took = time.monotonic() - start
if errors:
    sys.exit("bare SMTP failed: " + "; ".join(errors))
print(f"{took:.3f}")
