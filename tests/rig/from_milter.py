#!/usr/bin/python3
# The mail rig's header From check: a Postfix milter (python3-milter) that
# holds the header From of submitted mail to the SASL login, as real
# providers do. Started and stopped by tests/rig/start.sh and stop.sh.
#
#   /usr/bin/python3 from_milter.py unix:SOCKET PIDFILE
#
# Two behaviours, chosen per connection by Postfix's {daemon_name} macro
# (milter_macro_daemon_name, set per port in master.cf):
#   gmail          the From address is rewritten to the login, the display
#                  name kept (Gmail); a missing From is added
#   anything else  a From other than the login is refused, 550 5.7.60
#                  SendAsDenied (Outlook.com); so are several From addresses
#                  or fields, and none
# Logins and addresses compare case-insensitively, like the rig's accounts.
#
# A provider's sending limit, for accounts whose login starts with
# quotaN-wS- (e.g. quota3-w20-list-...@conclave.test): N messages in any S
# seconds are accepted, each one more is refused with Gmail's words,
# "550 5.4.5 Daily user sending quota exceeded." (counted in this process,
# per login, for the rig's lifetime).
# Mail without a login (no {auth_authen}) is left alone: the rig only
# attaches this milter to authenticated ports.
import email.utils
import os
import re
import sys

import threading
import time

import Milter

REWRITE_DAEMONS = {"gmail"}
QUOTA = re.compile(r"^quota(\d+)-w(\d+)-", re.IGNORECASE)
# login -> times of the messages accepted from it
SENT = {}
SENT_LOCK = threading.Lock()  # the milter serves connections on threads


def log(*words):
    print(*words, flush=True)


def safe(text):
    """Text fit for an SMTP reply: printable ASCII, no lone '%'."""
    text = "".join(c if " " <= c <= "~" else "?" for c in text)
    if len(text) > 200:
        text = text[:200] + "..."
    return text.replace("%", "%%")


def addresses(value):
    """The addr-specs of a header From value (unfolded), in order."""
    return [a for _, a in email.utils.getaddresses([value]) if a]


class FromMilter(Milter.Base):
    def __init__(self):
        self.id = Milter.uniqueID()

    @Milter.noreply
    def connect(self, hostname, family, hostaddr):
        self.daemon = self.getsymval("{daemon_name}") or ""
        return Milter.CONTINUE

    @Milter.noreply
    def envfrom(self, mailfrom, *params):
        self.login = (self.getsymval("{auth_authen}") or "").strip()
        self.froms = []
        return Milter.CONTINUE

    @Milter.noreply
    def header(self, field, value):
        if field.lower() == "from":
            self.froms.append(re.sub(r"\r?\n", "", value).strip())
        return Milter.CONTINUE

    def eom(self):
        if not self.login:
            return Milter.ACCEPT
        login = self.login.lower()
        found = [a for v in self.froms for a in addresses(v)]
        if len(self.froms) == 1 and len(found) == 1 and found[0].lower() == login:
            return self.within_quota(login)
        if self.daemon in REWRITE_DAEMONS:
            return self.rewrite()
        if not found:
            problem = "a message without a From address"
        elif len(self.froms) > 1 or len(found) > 1:
            problem = "as %d From addresses at once (%s)" % (len(found), ", ".join(found))
        else:
            problem = "as " + found[0]
        log("%s refused: %s may not send %s" % (self.id, self.login, problem))
        self.setreply("550", "5.7.60", safe("SendAsDenied: the account %s may not send %s" % (self.login, problem)))
        return Milter.REJECT

    def within_quota(self, login):
        """Accepts unless the login's sending limit is reached."""
        limit = QUOTA.match(login)
        if not limit:
            return Milter.ACCEPT
        most, window = int(limit.group(1)), int(limit.group(2))
        with SENT_LOCK:
            now = time.monotonic()
            recent = [t for t in SENT.get(login, []) if now - t < window]
            over = len(recent) >= most
            SENT[login] = recent if over else recent + [now]
        if over:
            log("%s refused: %s is over its quota (%d in %d s)" % (self.id, login, most, window))
            self.setreply("550", "5.4.5", "Daily user sending quota exceeded.")
            return Milter.REJECT
        return Milter.ACCEPT

    def rewrite(self):
        """Gmail: the first From names the login, keeping its display name."""
        if not self.froms:
            self.addheader("From", self.login)
            log("%s rewritten: From added as %s" % (self.id, self.login))
            return Milter.ACCEPT
        first = self.froms[0]
        pairs = email.utils.getaddresses([first])
        if first.count("<") == 1 and first.rstrip().endswith(">"):
            # Keep the display name exactly as written (quotes, encoded words).
            new = first[: first.index("<")] + "<" + self.login + ">"
        elif pairs and pairs[0][0]:
            new = email.utils.formataddr((pairs[0][0], self.login))
        else:
            new = self.login
        self.chgheader("From", 1, new)
        # Extra From fields go (indexes shift down as each one is removed).
        for _ in self.froms[1:]:
            self.chgheader("From", 2, "")
        log("%s rewritten: From %r -> %r" % (self.id, " / ".join(self.froms), new))
        return Milter.ACCEPT


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: from_milter.py unix:SOCKET PIDFILE")
    socket, pidfile = sys.argv[1:]
    with open(pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(pidfile + ".tmp", pidfile)
    Milter.factory = FromMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS)
    log("from_milter: listening on %s (pid %d)" % (socket, os.getpid()))
    Milter.runmilter("conclave-rig-from", socket, timeout=60)
    log("from_milter: stopped")


if __name__ == "__main__":
    main()
