#!/usr/bin/env bash
# Prints the peak memory of issue 6: one `conclave-cli run --once` taking a
# 1 MB post to 1000 members of an OpenPGP list (CONCLAVE_MEMBERS=N for
# another count), measured with /usr/bin/time -v. Setting up 1000 members
# takes about 20 s; the run itself about half a minute.
exec bash "$(dirname "$0")/measure-on-rig.sh" memory
