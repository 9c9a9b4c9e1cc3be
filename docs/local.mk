## Manual pages: hand-written roff, with the install paths filled in by sed
## (model-codebases.md §4.2).  Generated into the build directory.

man_MANS += docs/stoxd.8 docs/stox.conf.5 docs/stox-rules.5
EXTRA_DIST += docs/stoxd.8.in docs/stox.conf.5.in docs/stox-rules.5.in
CLEANFILES += docs/stoxd.8 docs/stox.conf.5 docs/stox-rules.5

docs_edit = $(SED) \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@VERSION[@]|$(VERSION)|g'

docs/%.8: docs/%.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs && $(docs_edit) $< > $@.tmp && mv $@.tmp $@
docs/%.5: docs/%.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs && $(docs_edit) $< > $@.tmp && mv $@.tmp $@

# Lint the generated pages (groff -ww); see the script.
TESTS += tests/check-man.sh
dist_check_SCRIPTS += tests/check-man.sh

# The deployment guide and the design notes the code comments cite, beside
# the README in $(docdir).  docs/examples/ holds each snippet of the guide,
# and the tests load those very files.
dist_doc_DATA += docs/deployment.md docs/architecture.md docs/mappings.md \
	docs/grafana-stox.json
examplesdir = $(docdir)/examples
dist_examples_DATA = docs/examples/prosody-stox.cfg.lua docs/examples/ejabberd-stox.yml \
	docs/examples/kamailio-stox.cfg

# The guide against the sources: every warning-and-above log message is
# explained, every example named and shown as it is (see the script).
TESTS += tests/check-guide.py
dist_check_SCRIPTS += tests/check-guide.py
