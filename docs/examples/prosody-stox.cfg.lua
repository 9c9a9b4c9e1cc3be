-- stox's component (XEP-0114) on Prosody 0.12.
--
-- Save as /etc/prosody/conf.d/stox.cfg.lua (Debian's prosody.cfg.lua ends
-- with Include "conf.d/*.cfg.lua"), owner root, group prosody, mode 0640:
-- it holds the secret.  Replace sip.example.com with [xmpp] component of
-- stox.conf (by default its [sip] domain) and the secret with the contents
-- of /etc/stox/secret; then "prosodyctl reload".
--
-- Prosody takes component connections on port 5347 of the loopback
-- interfaces unless component_ports / component_interfaces say otherwise:
-- what stox.conf's [xmpp] server and port expect.  Keep it that way; the
-- link is plain TCP.
--
-- The e2e tests load this very file (tests/e2e/stoxtest.py) with those two
-- values replaced by their own.
Component "sip.example.com"
    component_secret = "contents of /etc/stox/secret"
