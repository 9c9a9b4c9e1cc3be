sbin_PROGRAMS += src/stoxd
src_stoxd_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(XML_CFLAGS) $(SSL_CFLAGS) $(SQLITE_CFLAGS) \
	$(SOUP_CFLAGS) -DG_LOG_DOMAIN=\"stox\"
src_stoxd_SOURCES = \
	src/daemon/main.c \
	src/daemon/config.h src/daemon/config.c \
	src/daemon/config-value.h src/daemon/config-value.c \
	src/daemon/textfile.h src/daemon/textfile.c \
	src/daemon/rules-dir.h src/daemon/rules-dir.c \
	src/daemon/tls.h src/daemon/tls.c \
	src/daemon/exposure.h src/daemon/exposure.c \
	src/daemon/listen-url.h src/daemon/listen-url.c \
	src/daemon/check.h src/daemon/check.c \
	src/daemon/version.h src/daemon/version.c \
	src/daemon/notify.h src/daemon/notify.c \
	src/daemon/log.h src/daemon/log.c \
	src/daemon/runner.h src/daemon/runner.c \
	src/daemon/histogram.h src/daemon/histogram.c \
	src/daemon/memory.h src/daemon/memory.c \
	src/daemon/store.h src/daemon/store.c \
	src/daemon/restore.h src/daemon/restore.c \
	src/daemon/metrics.h src/daemon/metrics.c \
	src/daemon/metrics-http.h src/daemon/metrics-http.c
src_stoxd_LDADD = src/libstox-sip.a src/libstox-xmpp.a $(CORE_LIBS) \
	$(SOFIA_LIBS) $(STROPHE_LIBS) $(SSL_LIBS) $(SQLITE_LIBS) $(SOUP_LIBS) $(XML_LIBS) $(GLIB_LIBS)
