# The SIP front end: the only code that includes Sofia-SIP.
noinst_LIBRARIES += src/libstox-sip.a
src_libstox_sip_a_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(SOFIA_CFLAGS) -DG_LOG_DOMAIN=\"stox-sip\"
src_libstox_sip_a_SOURCES = \
	src/sip/sofia-decls.h \
	src/sip/endpoint.h src/sip/endpoint-private.h src/sip/endpoint.c \
	src/sip/incoming.c \
	src/sip/outgoing.c \
	src/sip/server-txn.h src/sip/server-txn.c \
	src/sip/dialog.h src/sip/dialog.c \
	src/sip/dialog-state.h src/sip/dialog-state.c \
	src/sip/dialog-record.h src/sip/dialog-request.c \
	src/sip/sofia-log.h src/sip/sofia-log.c \
	src/sip/fifo-timer.h src/sip/fifo-timer.c \
	src/sip/convert.h src/sip/convert.c \
	src/sip/message-size.h src/sip/message-size.c \
	src/sip/next-hop.h src/sip/next-hop.c \
	src/sip/tcp-guard.h src/sip/tcp-guard.c \
	src/sip/stack-socket.h src/sip/stack-socket.c \
	src/sip/udp-reply.h src/sip/udp-reply.c \
	src/sip/udp-client.h src/sip/udp-client.c \
	src/sip/tls-release.h src/sip/tls-release.c
