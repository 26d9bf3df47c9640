"""How soon the IMAP server tells a client waiting in IDLE of a new
message: the part of the tray's path that is the server's. Logs in to
USER's mailbox (STARTTLS), waits in IDLE, puts a message into MAILDIR (the
user's INBOX, as the rig's drop_into does) and prints the seconds until the
server's EXISTS arrives.

    python3 bare_idle.py HOST PORT USER PASSWORD CAFILE MAILDIR
"""
import imaplib
import os
import ssl
import sys
import time

host, port, user, password, cafile, maildir = sys.argv[1:7]
imap = imaplib.IMAP4(host, int(port), timeout=60)
imap.starttls(ssl.create_default_context(cafile=cafile))
imap.login(user, password)
imap.select("INBOX")
tag = imap._new_tag().decode()
imap.send(f"{tag} IDLE\r\n".encode())
if not imap.readline().startswith(b"+"):
    sys.exit("the server did not start IDLE")
owner = os.stat(os.path.join(maildir, "new"))
name = f"{time.time_ns()}.{os.getpid()}.bare-idle"
temporary = os.path.join(maildir, "tmp", name)
with open(temporary, "wb") as f:
    f.write(b"From: bench@conclave.test\r\nSubject: IDLE\r\n\r\nA message for IDLE.\r\n")
os.chown(temporary, owner.st_uid, owner.st_gid)
start = time.monotonic()
os.rename(temporary, os.path.join(maildir, "new", name))
while b"EXISTS" not in imap.readline():
    pass
print(f"{time.monotonic() - start:.3f}")
imap.send(b"DONE\r\n")
imap.logout()
