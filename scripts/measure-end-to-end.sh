#!/usr/bin/env bash
# Prints the end-to-end figure of issue 6: from a post's SMTP submission to
# the last of 50 members' copies landing in their inboxes, on the mail rig,
# with the agent waiting in IMAP IDLE.
exec bash "$(dirname "$0")/measure-on-rig.sh" end_to_end
