rulesdir = $(sysconfdir)/stox/rules.d
dist_rules_DATA = \
	gateway-rules/10-errors.rules \
	gateway-rules/20-message.rules
