# The pure mapping core: GLib and libxml2 only.  Its CPPFLAGS lack the Sofia
# and libstrophe include paths, so an #include of either fails to compile.
noinst_LIBRARIES += src/libstox-core.a
src_libstox_core_a_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(XML_CFLAGS) -DG_LOG_DOMAIN=\"stox-core\"
src_libstox_core_a_SOURCES = \
	src/core/types.h src/core/types.c \
	src/core/address.h src/core/address.c \
	src/core/address-chars.h \
	src/core/xep0106.h src/core/xep0106.c \
	src/core/percent.h src/core/percent.c \
	src/core/precis.h src/core/precis.c \
	src/core/sip-uri.c src/core/jid.c \
	src/core/rules.h src/core/rules.c \
	src/core/xml.h src/core/xml.c \
	src/core/message-content.h src/core/message-content.c \
	src/core/text.h src/core/text.c \
	src/core/html.h src/core/html.c \
	src/core/iscomposing.h src/core/iscomposing.c \
	src/core/cpim.h src/core/cpim.c \
	src/core/message.h src/core/message.c \
	src/core/pidf.h src/core/pidf.c \
	src/core/pidf-syntax.h src/core/pidf-syntax.c \
	src/core/pidf-parse.c src/core/pidf-build.c \
	src/core/backoff.h src/core/backoff.c \
	src/core/deadline.h \
	src/core/debug-log.h \
	src/core/netmask.h src/core/netmask.c \
	src/core/actions.h src/core/actions.c \
	src/core/methods.h src/core/methods.c \
	src/core/route.h src/core/route.c \
	src/core/timers.h src/core/timers.c \
	src/core/intern.h src/core/intern.c \
	src/core/presence-env.h \
	src/core/watch.h src/core/watch-private.h src/core/watch.c \
	src/core/watch-notify.c src/core/watch-restore.c \
	src/core/watch-limits.h src/core/watch-limits.c \
	src/core/follow.h src/core/follow.c \
	src/core/presence.h src/core/presence.c \
	src/core/stats.h \
	src/core/bounce-hold.h src/core/bounce-hold.c \
	src/core/fifo-pool.h src/core/fifo-pool.c \
	src/core/im.h src/core/im.c \
	src/core/iq.h src/core/iq.c \
	src/core/stanza-size.h src/core/stanza-size.c \
	src/core/gateway.h src/core/gateway.c
CORE_LIBS = src/libstox-core.a $(XML_LIBS) $(GLIB_LIBS)
