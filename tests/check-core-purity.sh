#!/bin/sh
# The core is sans-I/O (ARCHITECTURE.md): its archive must not reference a
# socket call, a clock, a file call, Sofia-SIP or libstrophe.  TAP output.
lib="${STOX_BUILDDIR:-.}/src/libstox-core.a"
echo "1..2"
if [ ! -f "$lib" ]; then
  echo "not ok 1 - $lib exists"; echo "not ok 2 - no forbidden symbols"; exit 1
fi
echo "ok 1 - $lib exists"
bad=$(nm -u "$lib" | awk '{print $NF}' | grep -E '^(socket|connect|bind|listen|accept|send|sendto|sendmsg|recv|recvfrom|recvmsg|read|write|open|fopen|getaddrinfo|gethostbyname|time|clock_gettime|gettimeofday|g_get_monotonic_time|g_get_real_time|g_file_get_contents|g_file_set_contents|g_random_.*|rand|random|nua_.*|su_.*|sip_.*|xmpp_.*)$' | sort -u)
if [ -n "$bad" ]; then
  echo "not ok 2 - no forbidden symbols"
  echo "$bad" | sed 's/^/# /'
  exit 1
fi
echo "ok 2 - no forbidden symbols (I/O, clock, randomness, protocol libraries)"
