/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What Sofia-SIP 1.12.11's TLS transport allocates and does not free:
 * the OpenSSL connection of every TLS connection, and the decoded
 * subjectAltName of every server certificate it checks.  The daemon runs
 * for months; each TLS connection would cost ~40 KiB for good
 * (tls-release.c says how the objects are released).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* FALSE when the stack does not reach this front end's release code (a
 * static or -Bsymbolic link, or another Sofia-SIP than 1.12.11): each
 * TLS connection then leaks.  The endpoint warns once at start. */
gboolean stox_sip_tls_release_active (void);

/* Frees the last subjectAltName the stack decoded (it holds at most one
 * between two certificate checks).  Called once the agent is destroyed. */
void     stox_sip_tls_release_flush (void);

G_END_DECLS
