#!/bin/sh
# The core is sans-I/O (docs/architecture.md): its archive must not reference a
# socket call, a clock, a file or directory call, the main loop (sources,
# timeouts, idles: the daemon owns the loop and hands the core `now`),
# Sofia-SIP or libstrophe.  TAP output.
lib="${STOX_BUILDDIR:-.}/src/libstox-core.a"
echo "1..2"
if [ ! -f "$lib" ]; then
  echo "not ok 1 - $lib exists"; echo "not ok 2 - no forbidden symbols"; exit 1
fi
echo "ok 1 - $lib exists"
io='socket|connect|bind|listen|accept|send|sendto|sendmsg|recv|recvfrom|recvmsg|read|write|open|fopen|getaddrinfo|gethostbyname'
clock='time|clock_gettime|gettimeofday|g_get_monotonic_time|g_get_real_time|g_random_.*|rand|random'
files='g_file_get_contents|g_file_set_contents|opendir|fdopendir|readdir|readdir_r|closedir|scandir|mkdir|mkdtemp|rmdir|chdir|g_dir_.*|g_mkdir.*|g_rmdir|g_chdir'
loop='g_source_.*|g_timeout_.*|g_idle_.*|g_main_.*|g_child_watch_.*|g_unix_fd_.*|g_io_add_watch.*'
libs='nua_.*|su_.*|sip_.*|xmpp_.*'
bad=$(nm -u "$lib" | awk '{print $NF}' | grep -E "^($io|$clock|$files|$loop|$libs)\$" | sort -u)
if [ -n "$bad" ]; then
  echo "not ok 2 - no forbidden symbols"
  echo "$bad" | sed 's/^/# /'
  exit 1
fi
echo "ok 2 - no forbidden symbols (I/O, directories, clock, randomness, main loop, protocol libraries)"
