# Benchmarks (bench/README.md).  Run them with bench/run; nothing here is
# in TESTS: speed and memory are measured, never asserted by a unit test.
noinst_PROGRAMS += bench/bench-core
bench_bench_core_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(XML_CFLAGS) \
	-DBENCH_RULES_DIR=\"$(abs_top_srcdir)/gateway-rules\"
bench_bench_core_SOURCES = bench/bench-core.c src/daemon/config.h src/daemon/config.c \
	src/daemon/rules-dir.h src/daemon/rules-dir.c src/daemon/textfile.h src/daemon/textfile.c \
	src/daemon/config-value.h src/daemon/config-value.c \
	src/daemon/listen-url.h src/daemon/listen-url.c
bench_bench_core_LDADD = $(CORE_LIBS)
# Start-up with kept watcher dialogs: the daemon's store, restore and runner
# with the real SIP front end and core.
noinst_PROGRAMS += bench/bench-restore
bench_bench_restore_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(XML_CFLAGS) $(SQLITE_CFLAGS) \
	-DG_LOG_DOMAIN=\"stox\" -DBENCH_RULES_DIR=\"$(abs_top_srcdir)/gateway-rules\"
bench_bench_restore_SOURCES = bench/bench-restore.c \
	src/daemon/config.h src/daemon/config.c \
	src/daemon/rules-dir.h src/daemon/rules-dir.c src/daemon/textfile.h src/daemon/textfile.c \
	src/daemon/config-value.h src/daemon/config-value.c \
	src/daemon/listen-url.h src/daemon/listen-url.c \
	src/daemon/runner.h src/daemon/runner.c \
	src/daemon/histogram.h src/daemon/histogram.c \
	src/daemon/store.h src/daemon/store.c \
	src/daemon/restore.h src/daemon/restore.c
bench_bench_restore_LDADD = src/libstox-sip.a src/libstox-xmpp.a $(CORE_LIBS) \
	$(SOFIA_LIBS) $(STROPHE_LIBS) $(SSL_LIBS) $(SQLITE_LIBS) $(XML_LIBS) $(GLIB_LIBS)
# The load table (bench-load.sh): the XMPP server's side of the component
# connection, so that the XMPP server is not what is measured.
noinst_PROGRAMS += bench/xmpp-peer
bench_xmpp_peer_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(SSL_CFLAGS)
bench_xmpp_peer_SOURCES = bench/xmpp-peer.c
bench_xmpp_peer_LDADD = $(SSL_LIBS) $(GLIB_LIBS)
dist_noinst_SCRIPTS += bench/run bench/bench-wire.sh bench/bench-load.sh bench/perf-summary.py
dist_noinst_DATA += bench/message.xml bench/sink.xml \
	bench/load-uac.xml bench/load-uas.xml bench/load-uas-log.xml \
	bench/load-watch.xml bench/load-notifier.xml
EXTRA_DIST += bench/README.md
