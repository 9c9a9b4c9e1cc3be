/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A StoxGateway with the shipped rules fed the way stoxd feeds it (the
 * runner's order: an event in, its actions carried out, a failed stanza
 * send reported back), with the two front ends' translators in front:
 * raw SIP bytes through Sofia's parser and stox_sip_convert_*(), stanza
 * XML through libstrophe's parser and stox_xmpp_stanza_decode().
 *
 * An input is a list of records, each ended by a line "%%" (the line end
 * before it stays with the record):
 *
 *   SIP bytes        a request or response as it would arrive on a socket;
 *                    nta's own checks run first (a message nta answers
 *                    itself never reaches the core), then the endpoint's
 *                    (allowed methods and URI schemes, Require, dialogs,
 *                    Event, body size)
 *   stanza XML       one top-level <message/>, <presence/> or <iq/>
 *   !tick MS         the clock moves MS milliseconds; due timers run
 *   !down / !up      the component link falls / comes back
 *   !source ADDR     the source address of the following SIP requests
 *   !respond CODE [N] a SIP peer answers the N-th oldest request the
 *                    gateway sent (default 0) with CODE
 *   !bounce COND [N] the XMPP server bounces the N-th message stanza the
 *                    gateway sent with <COND/>
 *   !sip / !xml      the rest of the record is SIP bytes / stanza XML
 *
 * Other records are SIP bytes or stanza XML, as the target says.
 *
 * Promises checked (gateway.h, types.h, the two convert.h, stoxd(8):
 * nothing is lost silently): every SIP request handed to the core
 * gets exactly one final answer by the end (a graceful stop answers what
 * is held); no answer goes to a request that was not asked or was answered
 * already; a NOTIFY only inside a dialog the front end knows; no header
 * value the gateway writes carries CR or LF; every stanza it sends can be
 * built by the XMPP front end; a timer that ran is not due again at once;
 * the decoders return valid UTF-8.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  STOX_FUZZ_RECORD_SIP,
  STOX_FUZZ_RECORD_STANZA,
} StoxFuzzRecordKind;

/* Runs one input through a fresh gateway and checks the promises above. */
void stox_fuzz_driver_run (const guint8      *data,
                           gsize              size,
                           StoxFuzzRecordKind default_kind);

G_END_DECLS
