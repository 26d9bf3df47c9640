#!/usr/bin/env bash
# Prints issue 13's figures: a whole fan-out on the mail rig (Conclave's
# `run --once`, start to exit) next to the floor (the same copies from a
# bare SMTP client) and the old way (gpg per member, then bare SMTP).
# CONCLAVE_BENCH_MEMBERS=50,200,1000 picks the list sizes (200 by default),
# CONCLAVE_BENCH_ROUNDS=N the rounds of each (5 by default);
# CONCLAVE_RIG_LATENCY_MS=12 puts 12 ms each way in front of IMAP and
# submission (see measure-on-rig.sh).
exec bash "$(dirname "$0")/measure-on-rig.sh" delivery
