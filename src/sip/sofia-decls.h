/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one way into Sofia-SIP.  Sofia's callbacks carry "magic" context
 * pointers whose types an application may choose by defining the *_MAGIC_T
 * macros before the first Sofia header; doing it here, once, gives every
 * callback in src/sip/ typed pointers instead of void *.  Files in src/sip/
 * include this header and never a Sofia header directly, so the definitions
 * cannot come too late.
 */
#pragma once

struct _StoxSipEndpoint;
struct _StoxSipOp;
struct _StoxSipDialog;

/* A leg is a dialog, or the default leg that takes every request outside
 * one (a dialog of kind "none"); a client transaction is an op. */
#define SU_ROOT_MAGIC_T      struct _StoxSipEndpoint
#define NTA_AGENT_MAGIC_T    struct _StoxSipEndpoint
#define NTA_LEG_MAGIC_T      struct _StoxSipDialog
#define NTA_OUTGOING_MAGIC_T struct _StoxSipOp
#define NTA_INCOMING_MAGIC_T struct _StoxSipOp

/* Sofia's headers predate our warning set: they test undefined macros in
 * #if and declare some functions twice.  Silence that for them only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#pragma GCC diagnostic ignored "-Wredundant-decls"
#include <sofia-sip/su.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/url.h>
#pragma GCC diagnostic pop

/* Sofia exports these log objects but declares them in no public header. */
extern su_log_t nta_log[];
extern su_log_t tport_log[];
