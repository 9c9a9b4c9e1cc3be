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
