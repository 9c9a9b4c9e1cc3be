/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stanzas from the XMPP server (RFC 6120 §8) through libstrophe's parser,
 * the XMPP front end's conversion (xmpp/convert.h) and the core
 * (stox_gateway_on_stanza), record after record on one gateway: see
 * driver.h for the format and the promises.
 */
#include "config.h"

#include "fuzz/driver.h"
#include "fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  stox_fuzz_driver_run (data, size, STOX_FUZZ_RECORD_STANZA);
  return 0;
}
