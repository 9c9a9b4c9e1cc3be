# Benchmarks (bench/README.md).  Run them with bench/run; nothing here is
# in TESTS: speed and memory are measured, never asserted by a unit test.
noinst_PROGRAMS += bench/bench-core
bench_bench_core_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(XML_CFLAGS) \
	-DBENCH_RULES_DIR=\"$(abs_top_srcdir)/gateway-rules\"
bench_bench_core_LDADD = $(CORE_LIBS)
dist_noinst_SCRIPTS += bench/run bench/bench-wire.sh
dist_noinst_DATA += bench/message.xml bench/sink.xml
EXTRA_DIST += bench/README.md
