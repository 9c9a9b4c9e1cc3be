## systemd unit and the annotated example configuration.

if HAVE_SYSTEMD
systemdsystemunit_DATA = data/stoxd.service
endif

data/stoxd.service: data/stoxd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) data && \
	$(SED) -e 's|@sbindir[@]|$(sbindir)|g' \
	       -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	       -e 's|@localstatedir[@]|$(localstatedir)|g' \
	       $(srcdir)/data/stoxd.service.in > $@.tmp && mv $@.tmp $@

# Built even without systemd so that "make check" can look at it.
noinst_DATA = data/stoxd.service
CLEANFILES += data/stoxd.service
EXTRA_DIST += data/stoxd.service.in
# $(docdir)/stox.conf.example (Debian moves it to examples/).
dist_doc_DATA += data/stox.conf.example
