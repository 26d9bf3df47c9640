#!/usr/bin/env bash
# Prints which SMTP client hands copies over fastest: Conclave's lane
# (lettre with its own pipelining), async-smtp and a bare client, over one
# connection each to the rig's submission server. CONCLAVE_BENCH_COPIES=N
# copies a round (100 by default); CONCLAVE_RIG_LATENCY_MS=12 puts 12 ms
# each way in front of the server (see measure-on-rig.sh).
exec bash "$(dirname "$0")/measure-on-rig.sh" smtp_clients
