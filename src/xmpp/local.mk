# The XMPP front end: the only code that includes libstrophe.
noinst_LIBRARIES += src/libstox-xmpp.a
src_libstox_xmpp_a_CPPFLAGS = $(AM_CPPFLAGS) $(GLIB_CFLAGS) $(STROPHE_CFLAGS) -DG_LOG_DOMAIN=\"stox-xmpp\"
src_libstox_xmpp_a_SOURCES = \
	src/xmpp/component.h src/xmpp/component.c \
	src/xmpp/confirm.h src/xmpp/confirm.c \
	src/xmpp/convert.h src/xmpp/convert.c \
	src/xmpp/gsource.h src/xmpp/gsource.c
